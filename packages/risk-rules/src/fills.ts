import type { FillReport } from "@paulp/contracts";
import { parseQuantity } from "@paulp/kit";
import { applyFill, type PortfolioState, positionKey } from "./portfolio";
import { moveReservationInView, type Reservation, type RiskView, shiftPosition } from "./view";

/** What one fill did to the portfolio, its reservations and the view. */
export interface FillEffect {
  applied: boolean;
  error?: string;
  /** The position key the fill moved (set when applied). */
  posKey?: string;
  /** A reservation was released or shrunk. */
  reservationsChanged: boolean;
  /** The ids of the reservations released or shrunk (each is stored under its own key). */
  changedReservations: string[];
  /** The view after the fill: updated in place, or null when it must be rebuilt. */
  view: RiskView | null;
}

/**
 * Apply one fill: the portfolio (`applyFill`), the reservations of its client order id (released as they
 * fill), and the view, updated in O(1) when it can be exactly (`shiftPosition`), else dropped (null).
 * Plain values in and out; the Durable Object persists what changed.
 */
export function applyFillEverywhere(
  state: PortfolioState,
  reservations: Record<string, Reservation>,
  view: RiskView | null,
  fill: FillReport,
  appliedAtMs: number,
): FillEffect {
  const cashBefore = state.cash;
  const result = applyFill(state, fill, appliedAtMs);
  if (result.error)
    return { applied: false, error: result.error, reservationsChanged: false, changedReservations: [], view };
  if (!result.applied) return { applied: false, reservationsChanged: false, changedReservations: [], view };
  // Hundredths of a contract (`applyFill` accepted the quantity, so it parses).
  const qty = parseQuantity(fill.quantity);
  const delta = fill.side === "buy" ? qty : -qty;
  const posKey = positionKey(fill.strategyId, fill.venue, fill.market);
  let exact =
    view !== null &&
    shiftPosition(
      view,
      { posKey, venue: fill.venue, market: fill.market },
      delta,
      delta,
      state.cash - cashBefore,
    );
  const changedReservations: string[] = [];
  for (const [id, r] of Object.entries(reservations)) {
    if (r.clientOrderId !== fill.clientOrderId || Math.sign(r.qty) !== Math.sign(delta)) continue;
    const before = r.qty;
    const left = r.qty - delta;
    if (Math.sign(left) !== Math.sign(r.qty) || left === 0) delete reservations[id];
    else r.qty = left;
    const after = reservations[id]?.qty ?? 0;
    if (view && exact) exact = moveReservationInView(view, r, before, after);
    changedReservations.push(id);
  }
  return {
    applied: true,
    posKey,
    reservationsChanged: changedReservations.length > 0,
    changedReservations,
    view: exact ? view : null,
  };
}
