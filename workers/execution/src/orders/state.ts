import type { OrderState } from "@paulp/contracts";

/**
 * The claim's withdrawal: a claim risk decided nothing for, or denied while deciding in the same call, is
 * deleted as if it had never been made (no order, nothing sent). An edge of the table to no state, out of
 * `pending_submit` only: once an order has been decided or sent it can only end in a terminal state.
 */
export const WITHDRAWN = "withdrawn";

/** Where an order can go: a state, or away (its claim withdrawn). */
export type OrderStep = OrderState | typeof WITHDRAWN;

/**
 * The one order state table (after nautilus_trader's OrderStatus::transition). Any pair not listed is an error
 * naming the current state. `partially_filled → partially_filled` records more fills; terminal states have none.
 */
export const TRANSITIONS: Readonly<Record<OrderState, readonly OrderStep[]>> = {
  pending_submit: ["submitted", "partially_filled", "filled", "cancelled", "rejected", "unknown", WITHDRAWN],
  submitted: ["partially_filled", "filled", "cancelled", "rejected", "unknown"],
  partially_filled: ["partially_filled", "filled", "cancelled", "unknown"],
  unknown: ["submitted", "partially_filled", "filled", "cancelled", "rejected"],
  filled: [],
  cancelled: [],
  rejected: [],
};

/** True for states no event can leave. */
export function isTerminal(state: OrderState): boolean {
  return TRANSITIONS[state].length === 0;
}

/** The next state, or why it is refused. */
export function transition(
  from: OrderState,
  to: OrderState,
): { ok: true; state: OrderState } | { ok: false; message: string } {
  return TRANSITIONS[from].includes(to)
    ? { ok: true, state: to }
    : { ok: false, message: `invalid transition ${from} → ${to}` };
}

/** The claim's withdrawal (its row deleted), or why it is refused: the table's edge to no state. */
export function withdrawal(from: OrderState): { ok: true } | { ok: false; message: string } {
  return TRANSITIONS[from].includes(WITHDRAWN)
    ? { ok: true }
    : { ok: false, message: `invalid transition ${from} → ${WITHDRAWN}` };
}

/** The state a venue's fill numbers imply for an order of `quantity`. */
export function stateForFills(quantity: number, filled: number, open: boolean): OrderState {
  if (filled >= quantity) return "filled";
  if (open) return filled > 0 ? "partially_filled" : "submitted";
  // Closed with a remainder: the remainder was cancelled (IOC, or cancelled by us or the venue).
  return "cancelled";
}
