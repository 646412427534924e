import * as v from "valibot";
import type { ApprovalReceiptRef } from "./approval-requests";
import type {
  AuditWatchOutcome,
  BreakerState,
  BreakerStatus,
  BreakerTransitionRecord,
  BreakerTransitionRequest,
  FailureKind,
} from "./breaker";
import { type HealthReport, type Principal, type Result, Sha256Hex, Venue } from "./common";
import { NonEmptyText, Timestamp } from "./fields";
import type {
  CapitalChange,
  CapitalView,
  DecisionQuery,
  DecisionSummary,
  RiskExposure,
  RiskLimits,
  RiskLimitsView,
  RiskMonitorStats,
} from "./risk-admin";

// Risk's evaluation contract (intents, decisions, fills, marks) and its RPC surface; what operators read and
// set on risk (limits, capital, exposure, the decision log, monitoring) is in risk-admin.ts.

/** Why an order is placed, relative to the current position. */
export const PositionEffect = v.picklist(["open", "increase", "reduce", "close"]);
/** Why an order is placed, relative to the current position. */
export type PositionEffect = v.InferOutput<typeof PositionEffect>;

/** A decimal string of at most 4 decimals, e.g. "0.5600" (prices are never floats in storage or hashes). */
export const DecimalString = v.pipe(
  v.string(),
  v.regex(/^-?\d{1,12}(\.\d{1,4})?$/, "must be a decimal string"),
);

/**
 * A quantity of contracts (or shares): positive and exact to 0.01, Kalshi's count granularity (a fill of 0.37
 * contracts is 0.37). Carried as the number nearest that decimal; risk holds it as integer hundredths. IBKR
 * orders are whole shares (risk denies a fraction `QUANTITY_OFF_LOT`).
 */
export const Quantity = v.pipe(
  v.number(),
  v.finite(),
  v.minValue(0.01),
  v.check((n) => Math.round(n * 100) / 100 === n, "must be a multiple of 0.01"),
);

/** A strategy's id, as orders, fills and decisions carry it. */
export const StrategyId = NonEmptyText(64);
/** A venue's market id (a Kalshi ticker, a Polymarket token, an IBKR conid), as orders, fills and marks carry it. */
export const MarketId = NonEmptyText(128);
/** A market's category, as risk files exposure under it and ingestion stores it. */
export const MarketCategory = NonEmptyText(64);
/** Buy or sell (YES on prediction markets; BUY/SELL on IBKR). */
export const OrderSide = v.picklist(["buy", "sell"]);

/**
 * What a strategy wants to trade. Prices are per-contract decimal strings in dollars (Kalshi: 0.01–0.99);
 * quantity is contracts exact to 0.01 (`Quantity`; whole shares on IBKR). `side`: buy or sell YES on prediction markets, BUY/SELL on IBKR.
 * Its hash, which a decision binds to and execution recomputes, is `canonicalHash("paulp.intent.v1", intent)`
 * from @paulp/kit over exactly these fields (the parsed intent, no extra keys).
 */
export const OrderIntent = v.object({
  strategyId: StrategyId,
  venue: Venue,
  market: MarketId,
  side: OrderSide,
  effect: PositionEffect,
  quantity: Quantity,
  limitPrice: DecimalString,
  clientOrderId: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/, "8–64 of [A-Za-z0-9_-]")),
  evidenceHashes: v.pipe(v.array(Sha256Hex), v.minLength(1), v.maxLength(16)),
  /**
   * The best price on the other side of the book when the intent was made (the best ask for a buy, the best
   * bid for a sell), if the strategy read the book: risk collars opening orders around it as well as the mark.
   */
  farSidePrice: v.optional(DecimalString),
});
/** What a strategy wants to trade. */
export type OrderIntent = v.InferOutput<typeof OrderIntent>;

/** The domain prefix of the intent hash: `canonicalHash(INTENT_HASH_DOMAIN, intent)`. */
export const INTENT_HASH_DOMAIN = "paulp.intent.v1";

/** Every reason code a risk denial can carry (see docs/risk.md for the arithmetic of each). */
export const RiskReasonCode = {
  breakerHalted: "BREAKER_HALTED",
  recoveryProbeTooLarge: "RECOVERY_PROBE_TOO_LARGE",
  priceOutOfRange: "PRICE_OUT_OF_RANGE",
  priceOffTick: "PRICE_OFF_TICK",
  quantityLimitExceeded: "QUANTITY_LIMIT_EXCEEDED",
  notionalLimitExceeded: "NOTIONAL_LIMIT_EXCEEDED",
  rateLimitExceeded: "RATE_LIMIT_EXCEEDED",
  duplicateClientOrderId: "DUPLICATE_CLIENT_ORDER_ID",
  unknownMarket: "UNKNOWN_MARKET",
  noMarkPrice: "NO_MARK_PRICE",
  staleMark: "STALE_MARK",
  markFromFuture: "MARK_FROM_FUTURE",
  noCategory: "NO_CATEGORY",
  noEquity: "NO_EQUITY",
  nonFiniteInput: "NON_FINITE_INPUT",
  effectMismatch: "EFFECT_MISMATCH",
  opposingOrderPending: "OPPOSING_ORDER_PENDING",
  positionLimitExceeded: "POSITION_LIMIT_EXCEEDED",
  concentrationLimitExceeded: "CONCENTRATION_LIMIT_EXCEEDED",
  marketExposureLimitExceeded: "MARKET_EXPOSURE_LIMIT_EXCEEDED",
  categoryExposureLimitExceeded: "CATEGORY_EXPOSURE_LIMIT_EXCEEDED",
  dailyLossLimitExceeded: "DAILY_LOSS_LIMIT_EXCEEDED",
  drawdownLimitExceeded: "DRAWDOWN_LIMIT_EXCEEDED",
  priceCollarExceeded: "PRICE_COLLAR_EXCEEDED",
  quantityOffLot: "QUANTITY_OFF_LOT",
} as const;
/** One risk denial reason code. */
export type RiskReasonCode = (typeof RiskReasonCode)[keyof typeof RiskReasonCode];

/** A typed reason for a risk denial, with the number observed and the limit it broke. */
export interface RiskReason {
  code: RiskReasonCode;
  message: string;
  observed?: string;
  limit?: string;
}

/**
 * What `consume` and `evaluate(…, "decide_and_consume")` answer: the decision (used, if it approved) and the
 * breaker as read for it.
 */
export interface ConsumedDecision {
  /** The decision, now used. */
  decision: RiskDecision;
  /** The breaker state and version read during the consume (HALT here refused any opening decision). */
  breaker: { state: BreakerState; version: number };
}

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
  /** The audit receipt's hash (with `auditSeq`): checkable later with `checkReceipts`. */
  auditHash: string;
}

/** What `evaluate(…, "dry_run")` answers: the same checks as `decide`, but nothing is recorded and nothing can be consumed. */
export interface RiskDryRun {
  dryRun: true;
  approved: boolean;
  reasons: RiskReason[];
  limitsVersion: number;
  breakerState: BreakerState;
  intentHash: string;
}

/**
 * How `evaluate` acts on its answer:
 * - `decide`: the decision is appended to the audit chain, stored and (if it approves) reserves its exposure,
 *   to be spent later by one `consume`;
 * - `decide_and_consume`: the same, but an approval is stored already used (its caller submits at once), so it
 *   can never be consumed again, and the breaker state read for it is answered with it;
 * - `dry_run`: the same checks, and nothing is recorded, reserved, audited or consumable.
 */
export const EvaluationMode = v.picklist(["decide", "decide_and_consume", "dry_run"]);
/** How `evaluate` acts on its answer. */
export type EvaluationMode = v.InferOutput<typeof EvaluationMode>;

/** What `evaluate` answers in each mode (`EvaluationAnswer[M]` for mode `M`). */
export interface EvaluationAnswer {
  decide: RiskDecision;
  decide_and_consume: ConsumedDecision;
  dry_run: RiskDryRun;
}

/** A fill reported by execution to the portfolio (`fillId` is the idempotency key). */
export const FillReport = v.object({
  fillId: NonEmptyText(128),
  strategyId: StrategyId,
  venue: Venue,
  market: MarketId,
  side: OrderSide,
  quantity: Quantity,
  price: DecimalString,
  fee: DecimalString,
  clientOrderId: NonEmptyText(64),
  ts: Timestamp,
});
/** A fill reported by execution to the portfolio. */
export type FillReport = v.InferOutput<typeof FillReport>;

/** What risk did with one fill of a `recordFills` batch (`error` set: refused, nothing changed for it). */
export interface FillOutcome {
  fillId: string;
  /** False for a fill id already applied (a duplicate) or a refused fill. */
  applied: boolean;
  /** Why the fill was refused (malformed price or fee, overflow); absent when accepted. */
  error?: string;
}

/** At most this many fills in one `recordFills` call. */
export const MAX_FILLS_PER_BATCH = 100;

/** A venue's own view of positions, for reconciliation and drift alerts. */
export interface VenuePosition {
  venue: Venue;
  market: string;
  /** Signed contracts (negative = short / NO). */
  position: number;
}

/**
 * A mark price pushed by ingestion. `price: null` makes the market known without a price (orders on it are
 * denied `NO_MARK_PRICE`); `category: null` denies `NO_CATEGORY`. A mark older than the stored one is ignored.
 */
export const MarkUpdate = v.object({
  venue: Venue,
  market: MarketId,
  price: v.nullable(DecimalString),
  category: v.nullable(MarketCategory),
  evidenceHash: Sha256Hex,
  observedAt: Timestamp,
  /** The book's best YES bid and ask in the same observation, when known: the far sides risk collars around. */
  bestBid: v.optional(v.nullable(DecimalString)),
  bestAsk: v.optional(v.nullable(DecimalString)),
});
/** A mark price pushed by ingestion. */
export type MarkUpdate = v.InferOutput<typeof MarkUpdate>;

/**
 * Clock skew tolerated on a mark's observedAt before it counts as "from the future": risk's evaluation and a caller
 * pricing from a mark (execution's hedges) judge it alike.
 */
export const MARK_FUTURE_SKEW_MS = 5_000;

/** The latest mark risk holds for one market, as `getMark` answers it (prices as decimal strings). */
export interface HeldMark {
  venue: Venue;
  market: string;
  /** Null: the market is known without a price. */
  price: string | null;
  observedAt: string;
  evidenceHash: string;
}

/** `getMark`'s answer: the mark (null when risk holds none) and the age past which risk calls a mark stale. */
export interface HeldMarkAnswer {
  mark: HeldMark | null;
  maxMarkAgeSeconds: number;
}

/** RPC surface of the `risk` worker. */
export interface RiskRpc {
  health(): Promise<HealthReport>;
  /**
   * Evaluates an intent and acts as `mode` says (see `EvaluationMode`); the answer's type follows the mode.
   * `decide` and `decide_and_consume` append the decision to the audit chain before answering it (an audit
   * failure is `audit_unavailable`, nothing stored or reserved); a denial is answered as a decision
   * (`approved: false`), not as an error. `decide_and_consume` is the path of a caller that submits at once
   * (execution): the approval is marked used in the same storage write that records it.
   */
  evaluate<M extends EvaluationMode>(
    intent: OrderIntent,
    actor: Principal,
    mode: M,
  ): Promise<Result<EvaluationAnswer[M]>>;
  /** Each limit's current use, equity and P&L. */
  exposure(): Promise<Result<RiskExposure>>;
  /**
   * Marks an approved decision used, once: refuses unknown, denied, expired, already-used decisions and
   * any whose intent hash differs from `intentHash`. Answers the decision with the breaker state it checked,
   * read in the same call: an opening decision is refused `breaker_halted` in HALT (and used up), so the
   * caller needs no `getBreaker` of its own.
   */
  consume(decisionId: string, intentHash: string): Promise<Result<ConsumedDecision>>;
  /**
   * Applies fills in order (one fill is `[fill]`), in one Durable Object turn and one storage write; each is
   * idempotent by `fillId` (a fill id already applied answers `applied: false`) and releases the matching
   * reservation; a refused fill (outcome with `error`) changes nothing and does not stop the others. A batch
   * that fails validation is refused whole. A loss-limit breach seen after any fill sends the breaker to HALT
   * before the answer.
   */
  recordFills(fills: FillReport[]): Promise<Result<{ fills: FillOutcome[] }>>;
  /**
   * Execution says these orders ended (filled, cancelled, rejected, expired; ≤ 100 ids, after their fills):
   * whatever they still reserve is released. A consumed decision's reservation otherwise holds for up to 24 h,
   * so an order resting at a venue keeps counting against the limits until it ends.
   */
  releaseReservations(clientOrderIds: string[]): Promise<Result<{ released: number }>>;
  recordMarks(marks: MarkUpdate[]): Promise<Result<{ applied: number }>>;
  /**
   * The latest mark of one market and risk's freshness limit (`maxMarkAgeSeconds` of the limits in force), for a
   * caller that prices an order from the mark (execution's hedges); the caller judges the age with its clock.
   */
  getMark(venue: Venue, market: string): Promise<Result<HeldMarkAnswer>>;
  reportFailure(kind: FailureKind, detail: string, actor: Principal): Promise<Result<BreakerStatus>>;
  reportSuccess(kind: FailureKind): Promise<Result<BreakerStatus>>;
  getBreaker(): Promise<Result<BreakerStatus>>;
  /** The newest breaker transitions, newest first (at most `limit`, default 100). */
  breakerHistory(limit?: number): Promise<Result<{ transitions: BreakerTransitionRecord[] }>>;
  /** The newest recorded decisions with their reasons, newest first (dry runs are never recorded). */
  recentDecisions(query: DecisionQuery): Promise<Result<{ decisions: DecisionSummary[] }>>;
  /** Counters and gauges for monitoring (alerts, `/admin/metrics`). */
  monitorStats(): Promise<Result<RiskMonitorStats>>;
  /**
   * Verify the audit chain incrementally and feed the breaker: broken → `audit_integrity_broken`
   * (HALT), no answer → `audit_failure`. Runs every 5 minutes from risk's Cron Trigger.
   */
  watchAudit(): Promise<Result<AuditWatchOutcome>>;
  getLimits(): Promise<Result<RiskLimitsView>>;
  /** Set the capital base; raising needs `receipt` redeeming `risk.capital_increase` for exactly `change`. */
  setCapital(
    change: CapitalChange,
    actor: Principal,
    receipt?: ApprovalReceiptRef,
  ): Promise<Result<CapitalView>>;
  /**
   * Lowering applies at once; raising any limit answers `approval_required` unless `receipt` redeems a
   * `risk.limits_increase` approval whose payload is exactly `{ limits }`.
   */
  updateLimits(
    limits: RiskLimits,
    actor: Principal,
    receipt?: ApprovalReceiptRef,
  ): Promise<Result<RiskLimitsView>>;
  /**
   * `receipt` is the governance desk's receipt, required for RECOVERY → NORMAL; it must redeem a
   * `breaker.recovery_to_normal` approval whose payload is exactly the `request`: `{ targetState, reason }`
   * (plus `expectedVersion` when sent). HALT is always allowed and needs no version; every other transition
   * names the breaker version it acts on: without `expectedVersion` it is `validation_failed`, with a stale one
   * `conflict`, both with `details: { state, version }` (the current ones).
   */
  transitionBreaker(
    request: BreakerTransitionRequest,
    actor: Principal,
    receipt?: ApprovalReceiptRef,
  ): Promise<Result<BreakerStatus>>;
}
