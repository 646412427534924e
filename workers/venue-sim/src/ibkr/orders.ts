// Orders once confirmed: placed, filled at or better than their limit (in one or two executions) or left resting.
import type { SimContext } from "../context";
import { commissionFor, type FillMode, positionOf, type SimExecution, type SimOrder } from "./state";

/** Trade `size` shares of an order now, at a price at or better than its limit, with its commission. */
async function execute(sim: SimContext, o: SimOrder, size: number, tick: number): Promise<void> {
  const seq = ((await sim.storage.get<number>("ibkr:execSeq")) ?? 0) + 1;
  const improve = o.side === "BUY" ? -tick : tick;
  const price = Math.max(0.01, Math.round((o.price + improve) * 100) / 100);
  const ex: SimExecution = {
    executionId: `0000e0d5.${seq.toString(16).padStart(8, "0")}.01.01`,
    orderId: o.orderId,
    cOID: o.cOID,
    acct: o.acct,
    conid: o.conid,
    side: o.side,
    size,
    price: price.toFixed(2),
    commission: commissionFor(size, o.filled === 0),
    at: sim.now(),
  };
  o.filled += size;
  o.at = sim.now();
  await sim.storage.put({
    "ibkr:execSeq": seq,
    [`ibkr:exec:${ex.executionId}`]: ex,
    [`ibkr:pos:${o.conid}`]: (await positionOf(sim, o.conid)) + (o.side === "BUY" ? size : -size),
  });
}

export async function placeConfirmed(sim: SimContext, o: SimOrder, mode: FillMode): Promise<SimOrder> {
  if (mode === "fill") {
    const first = Math.ceil(o.quantity / 2);
    await execute(sim, o, first, 0.01);
    if (o.quantity > first) await execute(sim, o, o.quantity - first, 0.02);
    o.status = "Filled";
  } else if (mode === "partial" && o.quantity > 1) {
    await execute(sim, o, Math.floor(o.quantity / 2), 0.01);
    o.status = "Submitted";
  } else {
    o.status = "Submitted";
  }
  await sim.storage.put(`ibkr:order:${o.orderId}`, o);
  return o;
}

export interface Pending {
  order: Omit<SimOrder, "orderId" | "status" | "filled" | "at">;
}

/** The order-request fields the simulator trades; anything else the spec allows is refused as unsupported. */
export function parseOrder(raw: unknown, acct: string): Pending["order"] | string {
  const list = (raw as { orders?: unknown } | null)?.orders;
  if (!raw || typeof raw !== "object" || Array.isArray(raw) || !Array.isArray(list))
    return "body must be { orders: [order-request] }";
  if (list.length !== 1) return "exactly one order expected";
  const o = list[0] as Record<string, unknown>;
  if (o.acctId !== undefined && o.acctId !== acct) return `acctId ${String(o.acctId)} is not ${acct}`;
  if (!Number.isInteger(o.conid)) return "conid required";
  if (o.side !== "BUY" && o.side !== "SELL") return "side must be BUY or SELL";
  if (o.orderType !== "LMT") return "only LMT orders are simulated";
  if (typeof o.price !== "number" || !(o.price > 0)) return "price required";
  if (!Number.isInteger(o.quantity) || (o.quantity as number) < 1) return "quantity required";
  if (o.tif !== undefined && !["GTC", "OPG", "DAY", "IOC"].includes(String(o.tif))) return "unknown tif";
  if (typeof o.cOID !== "string" || o.cOID.length === 0) return "cOID required";
  return {
    cOID: o.cOID,
    acct,
    conid: o.conid as number,
    side: o.side,
    price: o.price,
    quantity: o.quantity as number,
    tif: String(o.tif ?? "DAY"),
  };
}
