import * as v from "valibot";
import { type HealthReport, Principal, type Result, Sha256Hex, Venue } from "./common";
import type { ApprovalReceiptRef } from "./governance";

/** Why an order is placed, relative to the current position. */
export const PositionEffect = v.picklist(["open", "increase", "reduce", "close"]);
/** Why an order is placed, relative to the current position. */
export type PositionEffect = v.InferOutput<typeof PositionEffect>;

/** A decimal string of at most 4 decimals, e.g. "0.5600" (prices are never floats in storage or hashes). */
export const DecimalString = v.pipe(v.string(), v.regex(/^-?\d{1,12}(\.\d{1,4})?$/, "must be a decimal string"));

/**
 * What a strategy wants to trade. Prices are per-contract decimal strings in dollars (Kalshi: 0.01–0.99);
 * quantity is whole contracts/shares. `side`: buy or sell YES on prediction markets, BUY/SELL on IBKR.
 */
export const OrderIntent = v.object({
  strategyId: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  venue: Venue,
  market: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  side: v.picklist(["buy", "sell"]),
  effect: PositionEffect,
  quantity: v.pipe(v.number(), v.integer(), v.minValue(1)),
  limitPrice: DecimalString,
  clientOrderId: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/, "8–64 of [A-Za-z0-9_-]")),
  evidenceHashes: v.pipe(v.array(Sha256Hex), v.minLength(1), v.maxLength(16)),
});
/** What a strategy wants to trade. */
export type OrderIntent = v.InferOutput<typeof OrderIntent>;

/** A typed reason for a risk denial, with the number observed and the limit it broke. */
export interface RiskReason {
  code: string;
  message: string;
  observed?: string;
  limit?: string;
}

/** The circuit breaker's states. */
export const BreakerState = v.picklist(["NORMAL", "CAUTION", "HALT", "RECOVERY"]);
/** A circuit breaker state. */
export type BreakerState = v.InferOutput<typeof BreakerState>;

/** A risk decision, appended to the audit chain before it is returned; bound to one exact intent; single use. */
export interface RiskDecision {
  decisionId: string;
  approved: boolean;
  reasons: RiskReason[];
  limitsVersion: number;
  breakerState: BreakerState;
  /** SHA-256 of the canonical intent. */
  intentHash: string;
  expiresAt: string;
  auditSeq: number;
}

/** A fill reported by execution to the portfolio. */
export interface FillReport {
  fillId: string;
  strategyId: string;
  venue: Venue;
  market: string;
  side: "buy" | "sell";
  quantity: number;
  price: string;
  fee: string;
  clientOrderId: string;
  ts: string;
}

/** A venue's own view of positions, for reconciliation and drift alerts. */
export interface VenuePosition {
  venue: Venue;
  market: string;
  /** Signed contracts (negative = short / NO). */
  position: number;
}

/** A mark price pushed by ingestion. */
export interface MarkUpdate {
  venue: Venue;
  market: string;
  price: string;
  category: string | null;
  evidenceHash: string;
  observedAt: string;
}

/** Failure sources the breaker counts. */
export const FailureKind = v.picklist([
  "venue_api_error",
  "invariant_violation",
  "audit_failure",
  "reconciliation_drift",
  "audit_integrity_broken",
]);
/** A failure source the breaker counts. */
export type FailureKind = v.InferOutput<typeof FailureKind>;

/** The body of the specification's emergency procedure: `{ "targetState": "HALT", "reason": "…" }`. */
export const BreakerTransitionRequest = v.object({
  targetState: BreakerState,
  reason: v.pipe(v.string(), v.minLength(1), v.maxLength(500)),
  expectedVersion: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
});
/** A requested breaker transition. */
export type BreakerTransitionRequest = v.InferOutput<typeof BreakerTransitionRequest>;

/** The breaker's current state. */
export interface BreakerStatus {
  state: BreakerState;
  version: number;
  since: string;
  reason: string;
  consecutiveFailures: Record<string, number>;
  thresholds: Record<string, number>;
}

/** A percentage as a decimal string, e.g. "5" or "2.5". */
export const PercentString = v.pipe(v.string(), v.regex(/^\d{1,3}(\.\d{1,4})?$/, "must be a percentage like 5 or 2.5"));

/**
 * The Risk Governor's limits (the specification's defaults: 5/10/15/30/3/10 %) plus pre-trade basics.
 * Raising any of them is a capital-allocation increase and needs two-person approval.
 */
export const RiskLimits = v.object({
  maxPositionPct: PercentString,
  maxConcentrationPct: PercentString,
  maxMarketExposurePct: PercentString,
  maxCategoryExposurePct: PercentString,
  maxDailyLossPct: PercentString,
  maxDrawdownPct: PercentString,
  maxOrderQuantity: v.pipe(v.number(), v.integer(), v.minValue(1)),
  maxOrderNotional: DecimalString,
  maxOrdersPerMinute: v.pipe(v.number(), v.integer(), v.minValue(1)),
  maxMarkAgeSeconds: v.pipe(v.number(), v.integer(), v.minValue(1)),
  correlationGroups: v.record(v.string(), v.array(v.string())),
});
/** The Risk Governor's limits. */
export type RiskLimits = v.InferOutput<typeof RiskLimits>;

/** Limits with their version. */
export interface RiskLimitsView {
  version: number;
  limits: RiskLimits;
  updatedAt: string;
  updatedBy: string;
}

/** RPC surface of the `risk` worker. */
export interface RiskRpc {
  health(): Promise<HealthReport>;
  evaluateOrder(intent: OrderIntent, actor: Principal): Promise<Result<RiskDecision>>;
  /**
   * Marks an approved decision used, once: refuses unknown, denied, expired, already-used decisions and
   * any whose intent hash differs from `intentHash`.
   */
  consumeDecision(decisionId: string, intentHash: string): Promise<Result<RiskDecision>>;
  recordFill(fill: FillReport): Promise<Result<{ applied: boolean }>>;
  recordMarks(marks: MarkUpdate[]): Promise<Result<{ applied: number }>>;
  reportFailure(kind: FailureKind, detail: string, actor: Principal): Promise<Result<BreakerStatus>>;
  reportSuccess(kind: FailureKind): Promise<Result<BreakerStatus>>;
  getBreaker(): Promise<Result<BreakerStatus>>;
  getLimits(): Promise<Result<RiskLimitsView>>;
  /**
   * Lowering applies at once; raising any limit answers `approval_required` unless `receipt` redeems a
   * `risk.limits_increase` approval whose payload is exactly `{ limits }`.
   */
  updateLimits(limits: RiskLimits, actor: Principal, receipt?: ApprovalReceiptRef): Promise<Result<RiskLimitsView>>;
  /**
   * `receipt` is the governance desk's receipt, required for RECOVERY → NORMAL; it must redeem a
   * `breaker.recovery_to_normal` approval whose payload is exactly the `request`.
   */
  transitionBreaker(
    request: BreakerTransitionRequest,
    actor: Principal,
    receipt?: ApprovalReceiptRef,
  ): Promise<Result<BreakerStatus>>;
}
