import type {
  HedgeObligationState,
  HedgeObligationStats,
  HedgeObligationView,
  OrderView,
  Result,
} from "@paulp/contracts";
import { nearestHundredths, quantityNumber } from "@paulp/kit";
import { type HedgeMap, hedgeEntryFor, hedgeShares, hedgeSide } from "./hedge";

// A hedge obligation: a batch of Kalshi fills the hedge map covers whose IBKR hedge is owed. Every new fill on
// a loop (signal) order is first recorded as a fact where the fill is stored (the order manager, in the same
// synchronous write: at submit, or later when a resting or lost order's fills are learnt); the loop resolves
// each fact against the hedge map into an obligation for exactly the shares the new fills add, and each run
// retries the open ones until a hedge is placed or an operator abandons it. Pure: the table, the attempt's order
// id key, what a fill owes, what an attempt's hedge order means, the monitoring gauges. No clock, no binding.

/** What can happen to an obligation. */
export type HedgeObligationEvent = "attempt_failed" | "hedge_placed" | "abandoned";

/**
 * The one obligation state table. `open → open` on a failed attempt (its count and reason recorded, its
 * quantity perhaps reduced by a hedge order that filled part of it); `placed` and `abandoned` are terminal.
 */
export const HEDGE_OBLIGATION_TRANSITIONS: Readonly<
  Record<HedgeObligationState, Readonly<Partial<Record<HedgeObligationEvent, HedgeObligationState>>>>
> = {
  open: { attempt_failed: "open", hedge_placed: "placed", abandoned: "abandoned" },
  placed: {},
  abandoned: {},
};

/** The state an event leads to, or why it is refused. */
export function obligationStep(
  from: HedgeObligationState,
  event: HedgeObligationEvent,
): { ok: true; state: HedgeObligationState } | { ok: false; message: string } {
  const to = HEDGE_OBLIGATION_TRANSITIONS[from][event];
  return to ? { ok: true, state: to } : { ok: false, message: `hedge obligation is ${from}: no ${event}` };
}

/**
 * The decision key of attempt `attempt` (1-based) for deriveClientOrderId: deterministic per attempt, so a run
 * that retries an attempt whose outcome it never recorded finds that attempt's order (never a second one), and a
 * new attempt after a refused one gets a new id (a rejected order keeps its id; a risk denial frees it, but the
 * next attempt's price differs, which under the same id would be a conflict). The first attempt keeps the id
 * the loop always used.
 */
export function hedgeAttemptKey(kalshiOrderId: string, attempt: number): string {
  return attempt <= 1 ? `hedge:${kalshiOrderId}` : `hedge:${kalshiOrderId}:${attempt}`;
}

/** A new fill on a Kalshi signal order, as the order manager recorded it, not yet judged against the hedge map. */
export interface HedgeFill {
  /** The fill's id (`<clientOrderId>:<total filled>`): one fact per fill, however often it is replayed. */
  fillId: string;
  clientOrderId: string;
  strategyId: string;
  pairId: string;
  market: string;
  fillSide: "buy" | "sell";
  /** The order's filled contracts before and after this fill. */
  filledBefore: number;
  filledAfter: number;
  evidenceHashes: string[];
  seenAt: string;
  /** Why an earlier run could not judge it (null until one could not). */
  reason: string | null;
}

/** A Kalshi order whose fills may owe a hedge: the loop's own (signal) orders, as at submit. */
export function mayOweHedge(venue: string, contextKind: string | null | undefined): boolean {
  return venue === "kalshi" && contextKind === "signal";
}

/** The obligation id of a fill batch: the order's own id for its first, `_f<hundredths>` for later ones. */
export function obligationIdFor(clientOrderId: string, filledBefore: number, filledAfter: number): string {
  return filledBefore <= 0 ? clientOrderId : `${clientOrderId}_f${nearestHundredths(filledAfter)}`;
}

/** The hedge map as the loop read it (an unreadable map: its error). */
export interface ReadHedgeMap {
  map: HedgeMap;
  error: string | null;
}

/** True when `market` has no entry of its own and the map has category entries: its category decides. */
export function needsCategory(map: HedgeMap, market: string): boolean {
  return !map[market] && Object.keys(map).some((k) => k.startsWith("category:"));
}

/** What a fill owes: nothing (not covered, or no whole share), an obligation, or undetermined (kept, with why). */
export type FillHedge =
  | { kind: "none" }
  | {
      kind: "owed";
      obligationId: string;
      obligation: Omit<
        HedgeObligationView,
        "obligationId" | "state" | "firstSeenAt" | "updatedAt" | "lastReason" | "attempts" | "hedgeOrderId"
      >;
    }
  | { kind: "undetermined"; reason: string };

/**
 * What a fill owes. The shares are the difference of the order's cumulative hedge before and after the fill
 * (`hedgeShares` of each: the same floor as a single fill of the total, so batches never lose or add a share).
 * Fail closed: an unreadable map, or a category the map needs that could not be read, is undetermined (the
 * fact stays, counted as open, and the next run judges it again), never nothing.
 */
export function hedgeOwedByFill(
  hedges: ReadHedgeMap,
  fill: HedgeFill,
  category: Result<string | null> | null,
): FillHedge {
  if (hedges.error) return { kind: "undetermined", reason: `the hedge map is unreadable (${hedges.error})` };
  if (needsCategory(hedges.map, fill.market)) {
    if (!category) return { kind: "undetermined", reason: `the category of ${fill.market} was not read` };
    if (!category.ok)
      return {
        kind: "undetermined",
        reason: `the category of ${fill.market} could not be read (${category.error.code}: ${category.error.message})`,
      };
  }
  const known = category?.ok ? category.value : null;
  const entry = hedgeEntryFor(hedges.map, fill.market, known);
  if (!entry) return { kind: "none" };
  const shares = hedgeShares(entry, fill.filledAfter) - hedgeShares(entry, fill.filledBefore);
  if (shares < 1) return { kind: "none" };
  return {
    kind: "owed",
    obligationId: obligationIdFor(fill.clientOrderId, fill.filledBefore, fill.filledAfter),
    obligation: {
      clientOrderId: fill.clientOrderId,
      strategyId: fill.strategyId,
      pairId: fill.pairId,
      market: fill.market,
      category: known,
      fillSide: fill.fillSide,
      filled: quantityNumber(nearestHundredths(fill.filledAfter) - nearestHundredths(fill.filledBefore)),
      conid: String(entry.conid),
      side: hedgeSide(entry, fill.fillSide),
      quantity: shares,
      evidenceHashes: fill.evidenceHashes,
    },
  };
}

/** What an attempt's hedge order means for the obligation. */
export type AttemptOutcome = { kind: "placed" } | { kind: "failed"; remaining: number; reason: string };

/**
 * Placed when the hedge order is working at the venue (its lifecycle is the order manager's from there, an
 * `unknown` one included: it is looked up, never sent again) or filled all that was owed. An order that ended
 * (rejected, cancelled) short of it leaves the rest owed: that attempt failed, and its fills reduce what the
 * next one hedges.
 */
export function attemptOutcome(
  order: Pick<OrderView, "clientOrderId" | "state" | "filledQuantity" | "reason">,
  owed: number,
): AttemptOutcome {
  const ended = order.state === "rejected" || order.state === "cancelled" || order.state === "filled";
  const remaining = Math.max(0, owed - Math.floor(order.filledQuantity));
  if (!ended || remaining === 0) return { kind: "placed" };
  return {
    kind: "failed",
    remaining,
    reason: `hedge order ${order.clientOrderId} ${order.state} with ${order.filledQuantity} of ${owed} filled${order.reason ? `: ${order.reason}` : ""}`,
  };
}

/** The monitoring gauges of the open obligations (`open` rows: first seen, shares still owed). */
export function obligationStats(
  open: readonly { firstSeenAt: string; quantity: number }[],
  nowMs: number,
): HedgeObligationStats {
  let oldest: string | null = null;
  let unhedged = 0;
  for (const o of open) {
    unhedged += o.quantity;
    if (oldest === null || Date.parse(o.firstSeenAt) < Date.parse(oldest)) oldest = o.firstSeenAt;
  }
  return {
    open: open.length,
    oldestFirstSeenAt: oldest,
    oldestAgeSeconds: oldest === null ? null : Math.max(0, Math.floor((nowMs - Date.parse(oldest)) / 1000)),
    unhedgedQuantity: unhedged,
  };
}
