import * as v from "valibot";
import type { ApprovalReceiptRef } from "./approval-requests";
import type { HealthReport, Principal, Result, Venue } from "./common";
import { PageLimit, Text } from "./fields";
import { FreeText } from "./free-text";
import type { TradedMarket } from "./ingestion";
import type { OrderIntent, RiskDecision } from "./risk";

/** Paper fills against the latest ingested book with no venue call; live sends to the venue. */
export const ExecutionMode = v.picklist(["paper", "live"]);
/** An execution mode. */
export type ExecutionMode = v.InferOutput<typeof ExecutionMode>;

/**
 * A change of execution policy, globally or for one strategy. Moving to live is the two-person action
 * `execution.policy_live` whose payload is exactly this object; moving to paper is immediate.
 */
export const ExecutionPolicyChange = v.object({
  scope: v.union([v.literal("global"), v.pipe(v.string(), v.regex(/^strategy:[A-Za-z0-9_-]{1,64}$/))]),
  mode: ExecutionMode,
});
/** A change of execution policy. */
export type ExecutionPolicyChange = v.InferOutput<typeof ExecutionPolicyChange>;

/** The current execution policy. */
export interface ExecutionPolicyView {
  global: ExecutionMode;
  strategies: Record<string, ExecutionMode>;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** RPC surface of the `execution` worker. */
export interface ExecutionRpc {
  health(): Promise<HealthReport>;
  getPolicy(): Promise<Result<ExecutionPolicyView>>;
  /** To paper: immediate. To live: needs `receipt` redeeming `execution.policy_live` for exactly `change`. */
  setPolicy(
    change: ExecutionPolicyChange,
    actor: Principal,
    receipt?: ApprovalReceiptRef,
  ): Promise<Result<ExecutionPolicyView>>;
  /**
   * The only way to a venue: accepts the intent only with the risk decision that approved exactly it
   * (`RISK.consume`, single use); the intent is persisted under its client order id before anything
   * is sent; the same id with another intent is a `conflict`; the same intent again answers the stored order.
   */
  submitOrder(
    intent: OrderIntent,
    decisionId: string,
    actor: Principal,
    context?: OrderContext,
  ): Promise<Result<OrderSubmission>>;
  /**
   * Risk and submission in one call, the path the gateway and the trading loop take: the intent is persisted
   * under its client order id, then risk evaluates it and consumes its approval in one step
   * (`RISK.evaluate(…, "decide_and_consume")`), then it is submitted as by `submitOrder`. A denial is `risk_denied` with
   * details `{ decisionId, reasons }` and leaves no order (the id stays free); the denial itself is in the
   * audit chain as risk's decision.
   */
  placeOrder(intent: OrderIntent, actor: Principal, context?: OrderContext): Promise<Result<OrderSubmission>>;
  listOrders(query: OrderQuery): Promise<Result<{ orders: OrderView[] }>>;
  getOrder(clientOrderId: string): Promise<Result<OrderView>>;
  /** Cancels the order's remainder at the venue (paper orders are cancelled locally). */
  cancelOrder(clientOrderId: string, actor: Principal): Promise<Result<OrderView>>;
  getPositions(): Promise<Result<{ positions: ExecutionPosition[] }>>;
  /** Looks `unknown` orders up at the venue by client order id and applies what it says. */
  resolveUnknown(actor: Principal): Promise<Result<{ resolved: number; stillUnknown: number }>>;
  /** Compares live fills with each venue's positions, audits the result, reports drift beyond tolerance. */
  reconcile(actor: Principal): Promise<Result<ReconciliationReport>>;
  /** One run of the autonomous loop (the cron runs it every minute). */
  runTradingLoop(actor: Principal): Promise<Result<TradingLoopReport>>;
  /**
   * The markets a live or paper strategy can trade now: the legs of tradable pairs, markets with an open
   * position, and the IBKR instruments that hedge them (HEDGE_MAP). Ingestion's fast path keeps these fresh.
   */
  tradedMarkets(): Promise<Result<TradedMarket[]>>;
  /** Run one fast-path tick now (its Durable Object's alarm runs one every few seconds) and say what it did. */
  refreshTradedNow(): Promise<Result<FastPathTick>>;
  /** The fast path's schedule and counters. */
  fastPathStatus(): Promise<Result<FastPathStatus>>;
  /**
   * Counters and gauges for monitoring: orders by state, trading-call errors by venue and kind, the last
   * reconciliation, the open hedge obligations.
   */
  monitorStats(): Promise<Result<ExecutionMonitorStats>>;
  /**
   * Hedge obligations (fills whose IBKR hedge is not placed yet) of one state, oldest first, and the fills not
   * judged into one yet (see HedgeObligationsView).
   */
  listHedgeObligations(query: HedgeObligationQuery): Promise<Result<HedgeObligationsView>>;
  /**
   * An operator takes an open obligation's exposure over (hedged by hand, or accepted): it is no longer retried
   * nor alerted on. Audited as `execution.hedge_abandoned` with the reason; `conflict` unless it is open.
   */
  abandonHedgeObligation(
    obligationId: string,
    reason: string,
    actor: Principal,
  ): Promise<Result<HedgeObligationView>>;
}

/** What one tick of the fast path did. */
export interface FastPathTick {
  at: string;
  /** Markets the traded set names. */
  traded: number;
  /** Markets refreshed (book or snapshot read through evidence, mark pushed to risk). */
  refreshed: number;
  /** Markets due that the rate budget left for a later tick. */
  deferred: number;
  /** Error counts by kind (`rate_limited`, `http_404`, `compliance_blocked`, `risk_marks_failed`, …). */
  errors: Record<string, number>;
}

/** What `GET /admin/ingestion/fast-path` shows: the fast path's schedule and counters since it started. */
export interface FastPathStatus {
  /** When the next tick is due (the Durable Object's alarm), null when none is set. */
  nextTickAt: string | null;
  lastTick: FastPathTick | null;
  /** Per traded market: when its mark was last refreshed on the fast path. */
  markets: { venue: Venue; market: string; why: TradedMarket["why"]; refreshedAt: string | null }[];
  /** Error counts by kind over every tick since the object started. */
  errors: Record<string, number>;
  ticks: number;
}

/** What monitoring reads from execution. */
export interface ExecutionMonitorStats {
  ordersByState: Partial<Record<OrderState, number>>;
  /**
   * Failed trading calls (orders, cancels, lookups, positions) per venue and error kind since the order manager
   * was created (monotonic counters), e.g. `{ kalshi: { unavailable: 2, rate_limited: 1 } }`.
   */
  venueErrors: Record<string, Record<string, number>>;
  lastReconciliation: ReconciliationReport | null;
  /** Fills whose hedge is owed and not placed (the unhedged exposure the loop keeps retrying). */
  hedgeObligations: HedgeObligationStats;
}

/**
 * A hedge obligation's lifecycle (execution's src/hedge-obligations.ts holds its transition table): `open` while
 * the fill's IBKR hedge is owed and not placed (no fresh mark, risk denied it, the venue refused it); `placed`
 * once a hedge order for all of it was accepted; `abandoned` when an operator takes the exposure over.
 */
export const HedgeObligationState = v.picklist(["open", "placed", "abandoned"]);
/** A hedge obligation's state. */
export type HedgeObligationState = v.InferOutput<typeof HedgeObligationState>;

const Side = v.picklist(["buy", "sell"]);

/** One fill's owed hedge, as execution keeps it (the schema describes the answer in the OpenAPI document). */
export const HedgeObligationView = v.strictObject({
  /**
   * The obligation: the Kalshi order's client order id for the fills it had when first recorded, and
   * `<clientOrderId>_f<hundredths filled>` for each later batch of fills on it (a resting or late-resolved order).
   */
  obligationId: v.string(),
  /** The Kalshi order whose fills are to be hedged. */
  clientOrderId: v.string(),
  strategyId: v.string(),
  pairId: v.string(),
  /** The Kalshi market and its category, as the hedge map was read with. */
  market: v.string(),
  category: v.nullable(v.string()),
  /** The Kalshi order's side, and the contracts this obligation covers (its batch of the order's fills). */
  fillSide: Side,
  filled: v.number(),
  /** The IBKR instrument, the hedge's side and the whole shares still to hedge. */
  conid: v.string(),
  side: Side,
  quantity: v.number(),
  state: HedgeObligationState,
  firstSeenAt: v.string(),
  updatedAt: v.string(),
  /** Why the last attempt placed nothing (null before any attempt failed). */
  lastReason: v.nullable(v.string()),
  /** Failed attempts so far. */
  attempts: v.number(),
  /** The hedge order that closed it (`placed`). */
  hedgeOrderId: v.nullable(v.string()),
  /** The fill's evidence, cited again by each hedge attempt. */
  evidenceHashes: v.array(v.string()),
});
/** One fill's owed hedge, as execution keeps it. */
export type HedgeObligationView = v.InferOutput<typeof HedgeObligationView>;

/**
 * A fill on a Kalshi signal order recorded but not judged into a hedge obligation (or into none) yet: no run has
 * judged it (`reason` null: the next run will), or a run could not (`reason`: the hedge map or the market's
 * category unreadable). One with a reason counts as open in the monitor's hedge gauges (its exposure is unknown,
 * not absent) though it is no obligation yet: the shares it owes are unknown until it is judged.
 */
export const UndeterminedHedgeFill = v.strictObject({
  /** The fill (`<clientOrderId>:<contracts filled after it>`). */
  fillId: v.string(),
  clientOrderId: v.string(),
  strategyId: v.string(),
  market: v.string(),
  fillSide: Side,
  /** The contracts this fill added to the order (before → after). */
  filledBefore: v.number(),
  filledAfter: v.number(),
  /** When the fill was recorded (the exposure's start). */
  recordedAt: v.string(),
  /** Why the last run could not judge it; null when no run has tried yet. */
  reason: v.nullable(v.string()),
});
/** A recorded fill whose hedge is not judged yet. */
export type UndeterminedHedgeFill = v.InferOutput<typeof UndeterminedHedgeFill>;

/**
 * What `listHedgeObligations` answers: the obligations of the state asked (open by default, oldest first) and,
 * whatever the state asked, the fills not judged yet (never-judged first, then oldest first), so what the monitor
 * counts as owed is all listed.
 */
export const HedgeObligationsView = v.strictObject({
  obligations: v.array(HedgeObligationView),
  undetermined: v.array(UndeterminedHedgeFill),
});
/** What `listHedgeObligations` answers. */
export type HedgeObligationsView = v.InferOutput<typeof HedgeObligationsView>;

/** What monitoring reads of the open hedge obligations. */
export interface HedgeObligationStats {
  open: number;
  /** The oldest open obligation's first sighting and its age when read (null when none is open). */
  oldestFirstSeenAt: string | null;
  oldestAgeSeconds: number | null;
  /** Whole shares still to hedge, summed over the open obligations (all instruments). */
  unhedgedQuantity: number;
}

/** The body of `POST /admin/execution/hedge-obligations/:id/abandon`: why the operator takes it over (audited). */
export const HedgeObligationAbandon = v.strictObject({ reason: FreeText(500, 3) });
/** Why an operator takes an obligation over. */
export type HedgeObligationAbandon = v.InferOutput<typeof HedgeObligationAbandon>;

/** Filters for `listHedgeObligations` (default: open ones). */
export const HedgeObligationQuery = v.object({
  state: v.optional(HedgeObligationState),
  limit: v.optional(PageLimit),
});
/** Filters for `listHedgeObligations`. */
export type HedgeObligationQuery = v.InferOutput<typeof HedgeObligationQuery>;

/**
 * An order's lifecycle. `unknown`: the venue's answer was lost after sending; it is resolved by looking the
 * order up by its client order id, never by sending it again.
 */
export const OrderState = v.picklist([
  "pending_submit",
  "submitted",
  "partially_filled",
  "filled",
  "cancelled",
  "rejected",
  "unknown",
]);
/** An order's lifecycle state. */
export type OrderState = v.InferOutput<typeof OrderState>;

/** Why an order exists and what it was decided on, kept for `GET /admin/orders/:id/trace`. */
export const OrderContext = v.object({
  kind: v.picklist(["signal", "hedge", "manual"]),
  pairId: v.optional(Text(128)),
  /** The pair approval as the loop saw it when it decided. */
  pairApprovedBy: v.optional(Text(320)),
  pairApprovedAt: v.optional(Text(64)),
  /** For hedges: the order whose exposure is hedged. */
  hedgeOf: v.optional(Text(64)),
  note: v.optional(FreeText(500)),
});
/** Why an order exists. */
export type OrderContext = v.InferOutput<typeof OrderContext>;

/** One state an order passed through. */
export interface OrderStateChange {
  state: OrderState;
  at: string;
  reason: string | null;
}

/** An order as stored by the order manager; prices and fees are decimal strings. */
export interface OrderView {
  clientOrderId: string;
  /** The exact intent the risk decision approved (its canonical hash is `intentHash`). */
  intent: OrderIntent;
  intentHash: string;
  decisionId: string;
  /** The decision as risk answered when it was consumed (null if it was refused). */
  decision: RiskDecision | null;
  mode: ExecutionMode;
  state: OrderState;
  venueOrderId: string | null;
  filledQuantity: number;
  avgFillPrice: string | null;
  fees: string;
  reason: string | null;
  context: OrderContext | null;
  createdAt: string;
  updatedAt: string;
  history: OrderStateChange[];
}

/** What `submitOrder` answers: `duplicate` when the same intent was already submitted under this id. */
export interface OrderSubmission {
  order: OrderView;
  duplicate: boolean;
}

/** Filters for `listOrders`. */
export const OrderQuery = v.object({
  state: v.optional(OrderState),
  strategyId: v.optional(Text(64)),
  limit: v.optional(PageLimit),
});
/** Filters for `listOrders`. */
export type OrderQuery = v.InferOutput<typeof OrderQuery>;

/** An internal position from execution's own fills (signed: negative = short YES / sold). */
export interface ExecutionPosition {
  venue: Venue;
  market: string;
  mode: ExecutionMode;
  position: number;
}

/**
 * One market whose venue position lies outside what execution expects. Live orders that may be at the venue
 * without their outcome known yet (`pending_submit` being sent, `unknown`, open) make the expectation a range:
 * `internal` (filled) widened by each one's unfilled remainder on its side. `drift` is the distance from the
 * venue position to the nearest end of that range (signed).
 */
export interface PositionDrift {
  venue: Venue;
  market: string;
  internal: number;
  venuePosition: number;
  drift: number;
  /** The range the venue position may take while orders are in flight (both `internal` when none is). */
  expectedMin?: number;
  expectedMax?: number;
  /** Live orders in flight in this market when the positions were read. */
  inFlight?: number;
}

/** The result of a reconciliation run (scheduled or `POST /admin/reconcile`). */
export interface ReconciliationReport {
  at: string;
  tolerance: number;
  venues: { venue: Venue; status: "ok" | "not_configured" | "unavailable"; detail?: string }[];
  markets: number;
  drifts: PositionDrift[];
  /** Drifts beyond tolerance reported to the breaker as `reconciliation_drift`. */
  reported: number;
  auditSeq: number;
  /** Live orders in flight while the venues' positions were read: their markets were expected as ranges. */
  inFlight: number;
  /** The audit receipt's hash (with `auditSeq`). */
  auditHash: string;
}

/** The result of one run of the autonomous trading loop. */
export interface TradingLoopReport {
  at: string;
  strategies: number;
  pairs: number;
  signals: number;
  submitted: string[];
  denied: { clientOrderId: string; reason: string }[];
  skipped: string[];
  /** Open hedge obligations retried at the start of the run: placed now, or still open (each with why). */
  hedgeRetries?: {
    /** The Kalshi order whose fill is hedged. */
    clientOrderId: string;
    /** The obligation retried (see `HedgeObligationView.obligationId`). */
    obligationId: string;
    hedgeOrderId: string;
    outcome: "placed" | "open";
    reason: string | null;
  }[];
}
