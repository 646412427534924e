import type { OrderIntent, Principal } from "@paulp/contracts";
import { formatDollars, parseDollars, parseQuantity, worstCaseFee } from "@paulp/kit";
import { clients, type OrderDesk, toVenue, venueAnswered, venueFailure } from "./desk";
import { stateForFills } from "./state";

/** Send one decided live order to its venue, marked as being sent while it is (recovery leaves it alone). */
export async function executeLive(
  desk: OrderDesk,
  coid: string,
  intent: OrderIntent,
  actor: Principal,
): Promise<void> {
  desk.sending.add(coid);
  try {
    await placeAtVenue(desk, coid, intent, actor);
  } finally {
    desk.sending.delete(coid);
  }
}

/** The worst-case fee of a fill the venue answered without one (never zero). */
export function feeOrWorstCase(
  venue: "kalshi" | "ibkr",
  fee: string | null | undefined,
  filled: number,
  price: string,
): string {
  return fee ?? formatDollars(worstCaseFee(venue, parseQuantity(filled), parseDollars(price)), 4, "ceil");
}

async function placeAtVenue(
  desk: OrderDesk,
  coid: string,
  intent: OrderIntent,
  actor: Principal,
): Promise<void> {
  const { store } = desk;
  const { kalshi, ibkr } = clients(desk, actor, coid);
  if (intent.venue === "kalshi") {
    const r = await toVenue(desk, "kalshi", () =>
      kalshi.createOrder({
        ticker: intent.market,
        clientOrderId: coid,
        side: intent.side,
        count: intent.quantity,
        price: intent.limitPrice,
        timeInForce: "immediate_or_cancel",
      }),
    );
    if (!r.ok) return venueFailure(desk, coid, r.error);
    const to = stateForFills(intent.quantity, r.value.filled, false);
    store.move(coid, to, null, { venue_order_id: r.value.orderId });
    // No fee in the answer: the schedule's worst case for what filled, never zero.
    const fee = feeOrWorstCase("kalshi", r.value.fee, r.value.filled, r.value.avgPrice ?? intent.limitPrice);
    store.storeFills(coid, r.value.filled, r.value.avgPrice, fee);
    venueAnswered(desk);
    return;
  }
  if (intent.venue === "ibkr") {
    const conid = Number(intent.market);
    if (!Number.isInteger(conid)) {
      store.move(coid, "rejected", `IBKR market must be a conid, got ${intent.market}`);
      return;
    }
    const r = await toVenue(desk, "ibkr", () =>
      ibkr.placeOrder({
        conid,
        side: intent.side,
        quantity: intent.quantity,
        price: intent.limitPrice,
        cOID: coid,
      }),
    );
    if (!r.ok) return venueFailure(desk, coid, r.error);
    store.move(coid, "submitted", `IBKR ${r.value.status}`, { venue_order_id: r.value.orderId });
    venueAnswered(desk);
    return;
  }
  store.move(coid, "rejected", "Polymarket is market data only: no trading client");
}
