import {
  ErrorCode,
  err,
  type OrderIntent,
  type OrderState,
  type OrderView,
  ok,
  type Principal,
  type Result,
} from "@paulp/contracts";
import { audit, auditFact, clients, type OrderDesk, toVenue } from "./desk";
import { ibkrStep } from "./ibkr";
import { feeOrWorstCase } from "./live";
import { isTerminal, stateForFills } from "./state";
import type { OrderRow } from "./store";

/** An `unknown` order not found at the venue after this long was never accepted. */
const UNKNOWN_GRACE_MS = 120_000;
/** A live order audited as submitted but still pending_submit this long after was cut off mid-send. */
const STALE_PENDING_MS = 30_000;
/**
 * A claim still without a stored decision this long after it was made was cut off while risk decided (a
 * restart): nothing was sent, so it ends rejected and its reservation is released. Far beyond the RPC and
 * audit timeouts of a live claim, which is also re-checked before its send.
 */
const ABANDONED_CLAIM_MS = 10 * 60_000;

type Venues = ReturnType<typeof clients>;

/**
 * Apply what the venue says about one live order (used for unknown and open orders). A sweep passes one set
 * of clients for all its orders, so IBKR's live orders and trades are read once per sweep.
 */
async function refreshLive(
  desk: OrderDesk,
  r: OrderRow,
  actor: Principal,
  venues: Venues = clients(desk, actor, r.coid),
): Promise<"resolved" | "pending"> {
  const { store } = desk;
  const { kalshi, ibkr } = venues;
  if (r.venue === "kalshi") {
    const found = await toVenue(desk, "kalshi", () => kalshi.findByClientOrderId(r.market, r.coid));
    if (!found.ok) return "pending";
    if (!found.value) return notAtVenue(desk, r);
    const o = found.value;
    // A fee the answer does not give is the schedule's worst case for what filled (at the fills' price, else the
    // limit), never zero, as at the send. Worked out before the order moves: nothing can throw between the move and
    // its fills.
    const fee =
      o.fee ??
      feeOrWorstCase(
        "kalshi",
        null,
        o.filled,
        o.avgPrice ?? (JSON.parse(r.intent) as OrderIntent).limitPrice,
      );
    const to = stateForFills(r.quantity, o.filled, o.status === "resting");
    store.move(r.coid, to, `resolved at venue: ${o.status}`, { venue_order_id: o.orderId });
    store.storeFills(r.coid, o.filled, o.avgPrice, fee);
    return "resolved";
  }
  if (r.venue === "ibkr") {
    const found = await toVenue(desk, "ibkr", () => ibkr.lookup(r.coid));
    if (!found.ok) return "pending";
    if (!found.value) return notAtVenue(desk, r);
    const o = found.value;
    const step = ibkrStep(r.quantity, o);
    store.move(r.coid, step.state, step.reason, o.orderId ? { venue_order_id: o.orderId } : {});
    if (o.fills.quantity > 0 && o.fills.avgPrice) {
      // The executions' commission; when an execution does not report one, the schedule's worst case.
      const fee = feeOrWorstCase("ibkr", o.fills.fee, o.fills.quantity, o.fills.avgPrice);
      store.storeFills(r.coid, o.fills.quantity, o.fills.avgPrice, fee);
    }
    return "resolved";
  }
  return "pending";
}

function notAtVenue(desk: OrderDesk, r: OrderRow): "resolved" | "pending" {
  if (r.state !== "unknown" || desk.now() - Date.parse(r.updated_at) < UNKNOWN_GRACE_MS) return "pending";
  desk.store.move(r.coid, "rejected", "not found at the venue after the grace period: never accepted");
  return "resolved";
}

/**
 * Recovery after a restart and on every sweep: sends cut off mid-flight become `unknown` (looked up, never
 * re-sent), claims cut off before risk decided end rejected, and every unknown or open live order learns what
 * the venue says about it (audited when anything changed).
 */
export async function resolveUnknown(
  desk: OrderDesk,
  actor: Principal,
  venues: Venues = clients(desk, actor),
): Promise<Result<{ resolved: number; stillUnknown: number }>> {
  const { store } = desk;
  // A live order whose submission was audited (decision stored) but which never left pending_submit was being
  // sent when this object restarted: it may be at the venue, so it is unknown and looked up, never re-sent.
  for (const coid of store.staleLiveSends(new Date(desk.now() - STALE_PENDING_MS).toISOString()))
    if (!desk.sending.has(coid))
      store.move(coid, "unknown", "was being sent when the order manager restarted");
  // A claim cut off before its decision was stored never reached a venue: it ends, and risk is told to
  // release what it may have reserved (the ended-order outbox).
  const cutOff = "cut off before risk's decision was stored (a restart): nothing sent";
  for (const coid of store.undecidedClaims(new Date(desk.now() - ABANDONED_CLAIM_MS).toISOString())) {
    store.move(coid, "rejected", cutOff);
    await auditFact(desk, "execution.order_outcome", actor, {
      clientOrderId: coid,
      state: "rejected",
      filled: 0,
      avgPrice: null,
      venueOrderId: null,
      reason: cutOff,
    });
  }
  let resolved = 0;
  for (const r of store.openLive(200)) {
    if (desk.sending.has(r.coid)) continue; // its send will say how it went
    const was = r.state;
    // One order that cannot be refreshed (a throw: a client or store fault) is left for the next sweep, logged; the
    // sweep goes on to the others instead of leaving them all unresolved behind it.
    const outcome = await refreshLive(desk, r, actor, venues).catch((error: unknown) => {
      console.error(`recovery sweep: order ${r.coid} not refreshed: ${(error as Error)?.message ?? error}`);
      return "pending" as const;
    });
    if (outcome !== "resolved") continue;
    if (was === "unknown") resolved++;
    // Every change the venue reports is audited: an unknown order found, and an open order that filled,
    // was cancelled or expired.
    const now = store.row(r.coid)!;
    if (was === "unknown" || now.state !== was || now.filled !== r.filled)
      await auditFact(
        desk,
        was === "unknown" ? "execution.order_resolved" : "execution.order_updated",
        actor,
        {
          clientOrderId: r.coid,
          from: was,
          state: now.state,
          filled: now.filled,
          avgPrice: now.avg_price,
          venueOrderId: now.venue_order_id,
        },
      );
  }
  return ok({ resolved, stillUnknown: store.countUnknown() });
}

/**
 * Cancel an order. Paper ends at once; live asks the venue (an unknown order is looked up first: never cancel
 * blind) and ends only when the venue says so (IBKR answers PendingCancel first): a fill racing the cancel
 * must still be learnt, so the order stays open and is polled until the venue reports it cancelled or filled.
 */
export async function cancelOrder(
  desk: OrderDesk,
  coid: string,
  actor: Principal,
): Promise<Result<OrderView>> {
  const { store } = desk;
  const r = store.row(coid);
  if (!r) return err(ErrorCode.notFound, `no order ${coid}`);
  if (isTerminal(r.state as OrderState))
    return err(ErrorCode.conflict, `order ${coid} is already ${r.state}`);
  if (r.state === "pending_submit")
    return err(ErrorCode.conflict, `order ${coid} is being submitted; retry shortly`);
  const audited = await audit(desk, "execution.order_cancel_requested", actor, {
    clientOrderId: coid,
    state: r.state,
  });
  if (!audited.ok) return audited;
  if (r.mode === "paper") {
    const moved = store.move(coid, "cancelled", `cancelled by ${actor.subject}`);
    return moved.ok ? ok(store.view(moved.value)) : moved;
  }
  if (r.state === "unknown") await refreshLive(desk, r, actor);
  const fresh = store.row(coid)!;
  if (isTerminal(fresh.state as OrderState)) return ok(store.view(fresh));
  if (!fresh.venue_order_id)
    return err(ErrorCode.conflict, `order ${coid} has no venue order id yet (state ${fresh.state})`);
  const { kalshi, ibkr } = clients(desk, actor, coid);
  const venueOrderId = fresh.venue_order_id;
  const c =
    fresh.venue === "kalshi"
      ? await toVenue(desk, "kalshi", () => kalshi.cancelOrder(venueOrderId))
      : await toVenue(desk, "ibkr", () => ibkr.cancelOrder(venueOrderId));
  if (!c.ok)
    return err(
      c.error.kind === "rate_limited" ? ErrorCode.rateLimited : ErrorCode.upstreamError,
      `venue refused the cancel: ${c.error.kind}: ${c.error.message}`,
    );
  await refreshLive(desk, store.row(coid)!, actor);
  const after = store.row(coid)!;
  if (!isTerminal(after.state as OrderState))
    store.setReason(coid, `cancel requested by ${actor.subject}; awaiting the venue's confirmation`);
  return ok(store.viewOf(coid));
}
