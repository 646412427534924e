import type { DecisionSummary, RiskDecision, RiskLimitsView } from "@paulp/contracts";
import { RiskLimits } from "@paulp/contracts";
import { orNull, parseDollars } from "@paulp/kit";
import {
  buildView,
  DEFAULT_LIMITS,
  type Evaluation,
  emptyPortfolio,
  type LossLimits,
  type Mark,
  type ParsedLimits,
  type PortfolioState,
  type Position,
  parseLimits,
  type Reservation,
  type RiskView,
  regroupView,
  strictestLossLimits,
  updateWatermarks,
  upgradeUnits,
  valuation,
} from "@paulp/risk-rules";
import * as v from "valibot";
import {
  DECISION_LOG_PREFIX,
  DECISION_LOG_SIZE,
  type DecisionLogState,
  emptyDecisionLog,
} from "./decision-log";
import type { Env } from "./env";
import { emptyReceiptSample, RECEIPT_PREFIX, type ReceiptSample, receiptSampleFrom } from "./receipt-sample";

// The risk governor's storage layout: its keys, how its state is loaded (and older layouts moved, once) and
// written in bounded puts. The Durable Object (risk-governor.ts) holds the loaded state and changes it.

export interface StoredDecision {
  decision: RiskDecision;
  opensRisk: boolean;
  used: boolean;
}

/** Storage key prefix of one market's mark (`mark:venue:market`). */
export const MARK_PREFIX = "mark:";
/** Storage key prefix of one open position (`pos:strategy|venue:market`). */
export const POSITION_PREFIX = "pos:";
/** Storage key prefix of one applied fill id (`fid:<fillId>`, value: when it was applied). */
export const FILL_ID_PREFIX = "fid:";
/**
 * How long an applied fill id is kept to refuse a duplicate. Execution retries an unacknowledged fill every
 * few seconds until risk accepts it, so a duplicate arrives within seconds of the original; a week is ample.
 */
export const FILL_ID_KEEP_MS = 7 * 24 * 3600_000;
/** A storage `put` takes at most this many keys. */
export const MAX_KEYS_PER_PUT = 128;

/**
 * Short-lived order state (bounded by the decision TTL and the one-minute rate window). Each reservation has
 * its own key (`rsv:<decisionId>`), so an approval writes only its own; the approval times are not stored
 * apart: every approval also writes its client order id (`cid:`, value: when), and the last minute of those
 * is the rate window after a restart.
 */
export interface OrderBook {
  reservations: Record<string, Reservation>;
  approvals: number[];
}

/** Storage key prefix of one reservation (`rsv:<decisionId>`). */
export const RESERVATION_PREFIX = "rsv:";
/** The rate-limit window. */
export const RATE_WINDOW_MS = 60_000;

/** Everything the governor holds in memory, loaded from storage once (see `loadGovernor`). */
export interface GovernorState {
  portfolio: PortfolioState;
  limits: RiskLimitsView;
  parsed: ParsedLimits | null;
  orders: OrderBook;
  /** Approved client order ids and when, each its own `cid:` key so a busy day does not grow one value. */
  clientIds: Map<string, number>;
  decisions: Map<string, StoredDecision>;
  /** Receipts of the governor's audit appends, checked against the chain by the audit watch. */
  receipts: ReceiptSample;
  /** Counters of every recorded decision, and the newest DECISION_LOG_SIZE of them (oldest first). */
  decisionLog: DecisionLogState;
  recentLog: { seq: number; entry: DecisionSummary }[];
  /** The aggregates evaluations read, kept up to date in place; null: rebuilt on next use. */
  view: RiskView | null;
}

/** A change of portfolio state that may have broken a loss limit (the caller sends the breaker to HALT). */
export interface StateChange<T> {
  value: T;
  breach: Evaluation["breach"];
}

/**
 * The view, built from the portfolio and the reservations when it is not current, and keeping its correlated
 * totals for the limits in force (regrouped, not rebuilt, when the limits changed).
 */
export function currentView(st: Pick<GovernorState, "portfolio" | "orders" | "parsed" | "view">): RiskView {
  const groups = st.parsed?.correlation ?? null;
  if (!st.view) st.view = buildView(st.portfolio, Object.values(st.orders.reservations), groups);
  else if (st.view.groups !== groups) regroupView(st.view, groups);
  return st.view;
}

/**
 * The loss limits that drive HALT: the stored ones, or while those do not parse the strictest defaults, so a
 * corrupted limits record never switches the loss HALT off.
 */
export function lossLimits(st: GovernorState): LossLimits {
  return st.parsed ?? strictestLossLimits(st.limits.limits);
}

/**
 * The stored limits parsed, or null when they do not (a corrupted record, one written by a newer version): the
 * governor then denies every order and its loss checks fall back to the strictest defaults. Never throws, so a
 * bad record cannot stop the Durable Object from loading.
 */
export function parseStoredLimits(stored: RiskLimitsView): ParsedLimits | null {
  try {
    const limits = v.safeParse(RiskLimits, stored.limits);
    return limits.success && Number.isSafeInteger(stored.version)
      ? parseLimits(limits.output, stored.version)
      : null;
  } catch {
    return null;
  }
}

/** The persisted portfolio value: totals and watermarks only (marks, positions and fill ids have their own keys). */
export function portfolioRecord(portfolio: PortfolioState): PortfolioState {
  const { marks: _m, positions: _p, fillIds: _f, ...rest } = portfolio;
  return { ...rest, marks: {}, positions: {}, fillIds: {} };
}

/** Write and delete keys in puts of at most 128 keys (the puts of one turn commit together). */
export async function putAll(
  storage: DurableObjectStorage,
  writes: Record<string, unknown>,
  deletes: string[],
): Promise<void> {
  const keys = Object.keys(writes);
  for (let i = 0; i < keys.length; i += MAX_KEYS_PER_PUT) {
    const chunk: Record<string, unknown> = {};
    for (const k of keys.slice(i, i + MAX_KEYS_PER_PUT)) chunk[k] = writes[k];
    await storage.put(chunk);
  }
  for (let i = 0; i < deletes.length; i += MAX_KEYS_PER_PUT)
    await storage.delete(deletes.slice(i, i + MAX_KEYS_PER_PUT));
}

/** Delete storage keys, at most MAX_KEYS_PER_PUT a call. */
export function deleteKeys(storage: DurableObjectStorage, keys: string[]): Promise<number>[] {
  const deletes: Promise<number>[] = [];
  for (let i = 0; i < keys.length; i += MAX_KEYS_PER_PUT)
    deletes.push(storage.delete(keys.slice(i, i + MAX_KEYS_PER_PUT)));
  return deletes;
}

/**
 * Load the governor's state from storage, moving older layouts to the current one once (positions, fill ids
 * and reservations under their own keys; units in micros and hundredths). `now` is the load time.
 */
export async function loadGovernor(
  storage: DurableObjectStorage,
  env: Env,
  now: number,
): Promise<GovernorState> {
  const st: GovernorState = {
    portfolio: emptyPortfolio(null),
    limits: {
      version: 1,
      limits: DEFAULT_LIMITS,
      updatedAt: new Date(0).toISOString(),
      updatedBy: "default",
    },
    parsed: null,
    orders: { reservations: {}, approvals: [] },
    clientIds: new Map(),
    decisions: new Map(),
    receipts: emptyReceiptSample(),
    decisionLog: emptyDecisionLog(),
    recentLog: [],
    view: null,
  };
  const equity = env.STARTING_EQUITY === undefined ? null : orNull(() => parseDollars(env.STARTING_EQUITY!));
  st.portfolio =
    (await storage.get<PortfolioState>("portfolio")) ??
    emptyPortfolio(equity !== null && equity > 0 ? equity : null);
  // Marks, positions and applied fill ids live under their own keys: thousands of them would overflow one
  // value and make every fill rewrite all of them. A portfolio stored before that carries positions and
  // fill ids inline; they are moved out here, once.
  const legacyPositions = st.portfolio.positions ?? {};
  const legacyFillIds = st.portfolio.fillIds ?? {};
  st.portfolio.marks = {};
  for (const [key, mark] of await storage.list<Mark>({ prefix: MARK_PREFIX })) {
    st.portfolio.marks[key.slice(MARK_PREFIX.length)] = mark;
  }
  st.portfolio.positions = {};
  for (const [key, pos] of await storage.list<Position>({ prefix: POSITION_PREFIX })) {
    st.portfolio.positions[key.slice(POSITION_PREFIX.length)] = pos;
  }
  // Kept in the order applied, so pruning can stop at the first id still kept.
  const fids = [...(await storage.list<number>({ prefix: FILL_ID_PREFIX }))].sort((a, b) => a[1] - b[1]);
  st.portfolio.fillIds = {};
  for (const [key, t] of fids) st.portfolio.fillIds[key.slice(FILL_ID_PREFIX.length)] = t;
  const legacy = Object.keys(legacyPositions).length + Object.keys(legacyFillIds).length;
  if (legacy > 0) {
    const writes: Record<string, unknown> = {};
    for (const [key, pos] of Object.entries(legacyPositions)) {
      st.portfolio.positions[key] = pos;
      writes[`${POSITION_PREFIX}${key}`] = pos;
    }
    // The inline ids carry the fill's own time, not when it was applied: keep them a full period from now.
    for (const id of Object.keys(legacyFillIds)) {
      st.portfolio.fillIds[id] = now;
      writes[`${FILL_ID_PREFIX}${id}`] = now;
    }
    writes.portfolio = portfolioRecord(st.portfolio);
    await putAll(storage, writes, []);
  }
  st.limits = (await storage.get<RiskLimitsView>("limits")) ?? {
    version: 1,
    limits: DEFAULT_LIMITS,
    updatedAt: new Date(0).toISOString(),
    updatedBy: "default",
  };
  st.parsed = parseStoredLimits(st.limits);
  // Maps kept in time order, so pruning can stop at the first entry still alive.
  const cids = [...(await storage.list<number>({ prefix: "cid:" }))].sort((a, b) => a[1] - b[1]);
  for (const [key, t] of cids) st.clientIds.set(key.slice(4), t);
  const loadedAt = now;
  for (const [key, r] of await storage.list<Reservation>({ prefix: RESERVATION_PREFIX }))
    st.orders.reservations[key.slice(RESERVATION_PREFIX.length)] = r;
  // Every approval wrote its client id with its time: the last minute of those is the rate window.
  for (const t of st.clientIds.values()) if (t > loadedAt - RATE_WINDOW_MS) st.orders.approvals.push(t);
  // Before reservations had their own keys they were stored, with the approvals, as one `orders` value:
  // moved out here, once.
  const legacyOrders = await storage.get<OrderBook>("orders");
  if (legacyOrders) {
    const writes: Record<string, unknown> = {};
    for (const [id, r] of Object.entries(legacyOrders.reservations ?? {})) {
      st.orders.reservations[id] = r;
      writes[`${RESERVATION_PREFIX}${id}`] = r;
    }
    const kept = (legacyOrders.approvals ?? []).filter((t) => t > loadedAt - RATE_WINDOW_MS);
    if (kept.length > st.orders.approvals.length) st.orders.approvals = kept;
    await putAll(storage, writes, ["orders"]);
  }
  // State stored in 1e-4 $ and whole contracts is converted to micros and hundredths, once.
  const { positions, marks } = st.portfolio;
  if (upgradeUnits(st.portfolio, positions, marks, st.orders.reservations)) {
    const writes: Record<string, unknown> = { portfolio: portfolioRecord(st.portfolio) };
    for (const [key, pos] of Object.entries(positions)) writes[`${POSITION_PREFIX}${key}`] = pos;
    for (const [key, mark] of Object.entries(marks)) writes[`${MARK_PREFIX}${key}`] = mark;
    for (const [id, r] of Object.entries(st.orders.reservations)) writes[`${RESERVATION_PREFIX}${id}`] = r;
    await putAll(storage, writes, []);
  }
  const stored = [...(await storage.list<StoredDecision>({ prefix: "decision:" })).values()];
  stored.sort((a, b) => Date.parse(a.decision.expiresAt) - Date.parse(b.decision.expiresAt));
  for (const d of stored) st.decisions.set(d.decision.decisionId, d);
  st.receipts = receiptSampleFrom(await storage.list({ prefix: RECEIPT_PREFIX }));
  st.decisionLog = (await storage.get<DecisionLogState>("dlog")) ?? emptyDecisionLog();
  const logged = await storage.list<DecisionSummary>({
    prefix: DECISION_LOG_PREFIX,
    reverse: true,
    limit: DECISION_LOG_SIZE,
  });
  for (const [key, entry] of logged)
    st.recentLog.unshift({ seq: Number(key.slice(DECISION_LOG_PREFIX.length)), entry });
  updateWatermarks(st.portfolio, valuation(st.portfolio).equity, now);
  return st;
}
