import type { OrderState } from "@paulp/contracts";

/**
 * The one order state table (after nautilus_trader's OrderStatus::transition). Any pair not listed is an error
 * naming the current state. `partially_filled → partially_filled` records more fills; terminal states have none.
 */
export const TRANSITIONS: Readonly<Record<OrderState, readonly OrderState[]>> = {
  pending_submit: ["submitted", "partially_filled", "filled", "cancelled", "rejected", "unknown"],
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

/** The state a venue's fill numbers imply for an order of `quantity`. */
export function stateForFills(quantity: number, filled: number, open: boolean): OrderState {
  if (filled >= quantity) return "filled";
  if (open) return filled > 0 ? "partially_filled" : "submitted";
  // Closed with a remainder: the remainder was cancelled (IOC, or cancelled by us or the venue).
  return "cancelled";
}
