import type { BookLevel, PositionEffect } from "@paulp/contracts";
import { formatPrice, mulDiv, parsePrice } from "@paulp/kit";

// Prices and fractions here are integer 1e-4 (of a dollar, of 1): `parsePrice` / `formatPrice`.

/**
 * The oldest book a decision reads, in seconds: the loop asks ingestion for each leg's book no older than this
 * (`getOrderBook(…, maxAge)`, fetched fresh otherwise), so the replay decides only on books this fresh.
 */
export const DECISION_BOOK_MAX_AGE_SECONDS = 120;

/** Parameters of the cross-venue relative-value strategy (from the strategy's `params`, with defaults). */
export interface RvParams {
  /** Edge required beyond fees, in bp of a dollar (default 0.02 = 200). */
  marginBp: number;
  /** Largest order, in contracts. */
  maxContracts: number;
  /** Largest absolute position per market, in contracts. */
  maxPosition: number;
  /** Largest order notional as a fraction of the allocation, in bp of 1 (default 5% = 500). */
  maxOrderFractionBp: number;
}

/** Read a strategy's params without trusting them: anything malformed falls back to the default. */
export function rvParams(params: Record<string, unknown>): RvParams {
  const dec = (x: unknown, d: number) => {
    try {
      return typeof x === "string" ? parsePrice(x) : d;
    } catch {
      return d;
    }
  };
  const int = (x: unknown, d: number) => (Number.isInteger(x) && (x as number) > 0 ? (x as number) : d);
  return {
    marginBp: Math.max(0, dec(params.margin, 200)),
    maxContracts: int(params.maxContracts, 10),
    maxPosition: int(params.maxPosition, 50),
    maxOrderFractionBp: Math.min(10_000, Math.max(0, dec(params.maxOrderFraction, 500))),
  };
}

/** Kalshi's taker fee for one contract at `priceBp`, rounded up to a bp: 0.07 × P × (1 − P). */
export function takerFeePerContractBp(priceBp: number): number {
  return mulDiv(7 * priceBp, 10_000 - priceBp, 1_000_000, "ceil");
}

const best = (levels: BookLevel[], pick: "max" | "min") => {
  const ps = levels
    .map((l) => ({ p: parsePrice(l.price), s: Math.floor(Number(l.size)) }))
    .filter((l) => l.s > 0);
  if (ps.length === 0) return null;
  return ps.reduce((a, b) => ((pick === "max" ? b.p > a.p : b.p < a.p) ? b : a));
};

/** A trade the strategy wants on Kalshi. */
export interface RvSignal {
  side: "buy" | "sell";
  effect: PositionEffect;
  quantity: number;
  limitPrice: string;
  fairPrice: string;
  edge: string;
}

/**
 * Cross-venue relative value: Polymarket's mid (flipped when Kalshi's YES is Polymarket's NO) is the fair
 * price; when Kalshi's executable price is further from it than the taker fee plus the margin, trade Kalshi
 * toward it, sized within the allocation, the book and the position cap. Pure.
 */
export function crossVenueSignal(input: {
  kalshi: { bids: BookLevel[]; asks: BookLevel[] };
  polymarket: { bids: BookLevel[]; asks: BookLevel[] };
  yesMapsTo: "YES" | "NO";
  allocation: string;
  position: number;
  params: RvParams;
}): RvSignal | null {
  const pb = best(input.polymarket.bids, "max");
  const pa = best(input.polymarket.asks, "min");
  const kb = best(input.kalshi.bids, "max");
  const ka = best(input.kalshi.asks, "min");
  if (!pb || !pa || pa.p < pb.p) return null;
  const mid = Math.round((pb.p + pa.p) / 2);
  const fair = input.yesMapsTo === "YES" ? mid : 10_000 - mid;
  const { params } = input;
  let side: "buy" | "sell" | null = null;
  let level: { p: number; s: number } | null = null;
  let edge = 0;
  if (ka && fair - ka.p - takerFeePerContractBp(ka.p) > params.marginBp) {
    side = "buy";
    level = ka;
    edge = fair - ka.p - takerFeePerContractBp(ka.p);
  } else if (kb && kb.p - fair - takerFeePerContractBp(kb.p) > params.marginBp) {
    side = "sell";
    level = kb;
    edge = kb.p - fair - takerFeePerContractBp(kb.p);
  }
  if (!side || !level) return null;
  let allocationBp: number;
  try {
    allocationBp = parsePrice(input.allocation);
  } catch {
    return null;
  }
  const byAllocation = Math.floor((allocationBp * params.maxOrderFractionBp) / 10_000 / level.p);
  const dir = side === "buy" ? 1 : -1;
  // Room left under the position cap in the direction of the trade.
  const room = Math.max(0, params.maxPosition - dir * input.position);
  let quantity = Math.min(params.maxContracts, level.s, byAllocation, room);
  if (quantity < 1) return null;
  let effect: PositionEffect;
  if (input.position === 0) effect = "open";
  else if (Math.sign(input.position) === dir) effect = "increase";
  else {
    // Never flip through zero in one order: a reducing order stops at flat.
    quantity = Math.min(quantity, Math.abs(input.position));
    effect = quantity === Math.abs(input.position) ? "close" : "reduce";
  }
  return {
    side,
    effect,
    quantity,
    limitPrice: formatPrice(level.p),
    fairPrice: formatPrice(fair),
    edge: formatPrice(edge),
  };
}
