import type { HedgeObligationState, HedgeObligationStats, OrderView } from "@paulp/contracts";

// A hedge obligation: a Kalshi fill the hedge map covers whose IBKR hedge is owed. It is written before the
// first hedge attempt (a run cut off mid-way leaves it open, not lost) and each loop run retries the open ones
// until a hedge is placed or an operator abandons it. Pure: the table, the attempt's order id key, what an
// attempt's hedge order means for the obligation, and the monitoring gauges. No clock, no binding.

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
