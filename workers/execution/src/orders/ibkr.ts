import type { OrderState } from "@paulp/contracts";
import type { IbkrOrderReport } from "../venues/ibkr";
import { stateForFills } from "./state";

/** The spec's statuses an order does not leave (`order.status`: Filled, Cancelled, Inactive). */
const ENDED = new Set(["Filled", "Cancelled", "Inactive"]);

/**
 * The state an IBKR order moves to from what the venue reports (pure). Fills count only as priced executions
 * (`/iserver/account/trades`): an order the live-order row calls ended while executions are missing or
 * unpriced stays open, so its fills are recorded at their average price and commission when they appear,
 * never guessed. `Inactive` with nothing filled never worked: rejected. A status outside the spec's list, or
 * an order no longer among the live orders, is treated as still working (polled again).
 */
export function ibkrStep(quantity: number, o: IbkrOrderReport): { state: OrderState; reason: string } {
  const filled = o.fills.quantity;
  const venueFilled = Math.max(o.venueFilled ?? 0, o.status === "Filled" ? quantity : 0);
  const awaiting = filled < venueFilled || o.unpriced > 0;
  const status = o.status ?? "not among the live orders";
  if (o.status !== null && ENDED.has(o.status) && !awaiting) {
    if (o.status === "Inactive" && filled === 0)
      return { state: "rejected", reason: "IBKR Inactive: the order never worked" };
    return { state: stateForFills(quantity, filled, false), reason: `IBKR ${status}` };
  }
  return {
    state: stateForFills(quantity, filled, true),
    reason: awaiting
      ? `IBKR ${status}: ${Math.max(venueFilled - filled, o.unpriced)} filled without a priced execution yet`
      : `IBKR ${status}`,
  };
}
