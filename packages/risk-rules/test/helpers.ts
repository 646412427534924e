import type { BreakerState, OrderIntent, RiskLimits, Venue } from "@paulp/contracts";
import { parseDollars } from "@paulp/kit";
import { evaluateIntent } from "../src/evaluate";
import { type ParsedLimits, parseLimits } from "../src/limit-rules";
import { DEFAULT_LIMITS } from "../src/limits";
import {
  applyFill,
  applyMark,
  emptyPortfolio,
  type PortfolioState,
  updateWatermarks,
  valuation,
} from "../src/portfolio";
import { buildView, type RiskView } from "../src/view";

export const NOW = Date.parse("2026-11-24T12:00:00.000Z");
export const HASH = "a".repeat(64);

/** Limits with every percentage at 100 % except the ones given, so one limit is tested at a time. */
export function isolatedLimits(overrides: Partial<RiskLimits> = {}): RiskLimits {
  return {
    ...DEFAULT_LIMITS,
    maxPositionPct: "100",
    maxConcentrationPct: "100",
    maxMarketExposurePct: "100",
    maxCategoryExposurePct: "100",
    maxDailyLossPct: "100",
    maxDrawdownPct: "100",
    maxOrderQuantity: 1_000_000,
    maxOrderNotional: "1000000.00",
    maxOrdersPerMinute: 1_000_000,
    priceCollarPct: "100",
    priceCollarMinimum: "1.00",
    ...overrides,
  };
}

export function parsed(limits: RiskLimits, version = 1): ParsedLimits {
  const p = parseLimits(limits, version);
  if (!p) throw new Error("limits do not parse");
  return p;
}

export function portfolio(equity: string | null = "100000.00"): PortfolioState {
  const units = equity === null ? null : parseDollars(equity);
  const state = emptyPortfolio(units);
  return state;
}

export function mark(
  state: PortfolioState,
  market: string,
  price: string | null,
  opts: {
    venue?: Venue;
    category?: string | null;
    observedAtMs?: number;
    bestBid?: string | null;
    bestAsk?: string | null;
  } = {},
): void {
  const r = applyMark(state, {
    venue: opts.venue ?? "kalshi",
    market,
    price,
    category: opts.category === undefined ? "politics" : opts.category,
    evidenceHash: HASH,
    observedAt: new Date(opts.observedAtMs ?? NOW - 1000).toISOString(),
    ...(opts.bestBid !== undefined ? { bestBid: opts.bestBid } : {}),
    ...(opts.bestAsk !== undefined ? { bestAsk: opts.bestAsk } : {}),
  });
  if (r.error) throw new Error(r.error);
}

let fillSeq = 0;
export function fill(
  state: PortfolioState,
  strategyId: string,
  market: string,
  side: "buy" | "sell",
  quantity: number,
  price: string,
  venue: Venue = "kalshi",
): void {
  const r = applyFill(state, {
    fillId: `f${++fillSeq}`,
    strategyId,
    venue,
    market,
    side,
    quantity,
    price,
    fee: "0",
    clientOrderId: `c${fillSeq}`,
    ts: new Date(NOW).toISOString(),
  });
  if (r.error) throw new Error(r.error);
}

/** Settle the watermarks (day start, high-water mark) as the Durable Object does after every change. */
export function settle(state: PortfolioState, nowMs = NOW): void {
  updateWatermarks(state, valuation(state).equity, nowMs);
}

export function intent(overrides: Partial<OrderIntent> = {}): OrderIntent {
  return {
    strategyId: "s1",
    venue: "kalshi",
    market: "MKT-A",
    side: "buy",
    effect: "open",
    quantity: 10,
    limitPrice: "0.50",
    clientOrderId: "client-0001",
    evidenceHashes: [HASH],
    ...overrides,
  };
}

export function evaluate(
  state: PortfolioState,
  i: OrderIntent,
  limits: RiskLimits,
  opts: {
    breaker?: BreakerState;
    nowMs?: number;
    recent?: number;
    used?: boolean;
    view?: (v: RiskView) => void;
  } = {},
) {
  const p = parsed(limits);
  // As the governor keeps it: with running totals for the limits' correlation groups.
  const view = buildView(state, [], p.correlation);
  opts.view?.(view);
  return evaluateIntent({
    intent: i,
    view,
    limits: p,
    breakerState: opts.breaker ?? "NORMAL",
    nowMs: opts.nowMs ?? NOW,
    approvalsLastMinute: opts.recent ?? 0,
    clientOrderIdUsed: opts.used ?? false,
  });
}

export function codes(e: { reasons: { code: string }[] }): string[] {
  return e.reasons.map((r) => r.code);
}

/**
 * A view's figures as plain data, zero entries dropped and lists sorted (a rebuilt view never holds zeros; one
 * updated in place may, and reads them as the same `?? 0`), for comparing an updated view with a rebuilt one.
 */
export function normalView(view: RiskView) {
  const m = (x: Map<string, number>) =>
    Object.fromEntries([...x].filter(([, v]) => v !== 0).sort(([a], [b]) => a.localeCompare(b)));
  return {
    equity: view.equity,
    dayStartEquity: view.dayStartEquity,
    highWaterMark: view.highWaterMark,
    filledQty: m(view.filledQty),
    effectiveQty: m(view.effectiveQty),
    pendingReduce: m(view.pendingReduce),
    marketExposure: m(view.marketExposure),
    categoryExposure: m(view.categoryExposure),
    groupExposure: Object.fromEntries(view.groupExposure.map((t, n) => [n, t]).filter(([, t]) => t !== 0)),
    unmarked: [...view.unmarked].sort(),
    heldMarkets: m(view.heldMarkets),
    reservedSlippage: view.reservedSlippage,
    reservedFees: view.reservedFees,
    oldestHeldMarkMs: view.oldestHeldMarkMs,
  };
}
