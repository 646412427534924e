// The spec's wire shapes, built from the simulator's state: its generic error, and the live-order, trade and
// position rows (each with the optional fields a `sparse` behaviour leaves out).
import {
  type Behaviour,
  POSITIONS_PAGE_SIZE,
  type SimExecution,
  type SimOrder,
  withOptionalGaps,
} from "./state";

/** An error the spec does not document for the path: its generic `system-error` shape. */
export const fail = (status: number, error: string) => Response.json({ error }, { status });

const LIVE_ORDER_KEEP = [
  "acct",
  "conid",
  "orderId",
  "status",
  "filledQuantity",
  "remainingQuantity",
  "order_ref",
];

export function liveOrderRow(o: SimOrder, b: Behaviour, seed: number) {
  return withOptionalGaps(
    {
      acct: o.acct,
      conidex: String(o.conid),
      conid: o.conid,
      orderId: o.orderId,
      cashCcy: "USD",
      sizeAndFills: `${o.quantity - o.filled}/${o.quantity}`,
      orderDesc: `${o.side === "BUY" ? "Buy" : "Sell"} ${o.quantity} Limit ${o.price.toFixed(2)} ${o.tif}`,
      description1: `SIM ${o.conid}`,
      ticker: `SIM${o.conid}`,
      secType: "STK",
      listingExchange: "NASDAQ.NMS",
      remainingQuantity: o.quantity - o.filled,
      filledQuantity: o.filled,
      companyName: `Simulated ${o.conid}`,
      status: o.status,
      origOrderType: "LIMIT",
      supportsTaxOpt: 1,
      lastExecutionTime_r: o.at,
      orderType: "Limit",
      order_ref: o.cOID,
      side: o.side,
      timeInForce: o.tif,
      price: o.price,
      bgColor: "#FFFFFF",
      fgColor: "#000000",
    },
    `order:${o.orderId}`,
    LIVE_ORDER_KEEP,
    b,
    seed,
  );
}

const TRADE_KEEP = ["execution_id", "side", "size", "price", "order_ref", "commission", "account", "conid"];

export function tradeRow(x: SimExecution, b: Behaviour, seed: number) {
  const d = new Date(x.at);
  const p2 = (n: number) => String(n).padStart(2, "0");
  return withOptionalGaps(
    {
      execution_id: x.executionId,
      symbol: `SIM${x.conid}`,
      side: x.side === "BUY" ? "B" : "S",
      order_description: `${x.side === "BUY" ? "Bot" : "Sold"} ${x.size} @ ${x.price} on ISLAND`,
      trade_time: `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}-${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`,
      trade_time_r: x.at,
      size: String(x.size),
      price: x.price,
      order_ref: x.cOID,
      submitter: "paulpsim",
      exchange: "ISLAND",
      commission: x.commission,
      net_amount: Math.round(x.size * Number(x.price) * 100) / 100,
      account: x.acct,
      acountCode: x.acct,
      company_name: `Simulated ${x.conid}`,
      contract_description_1: `SIM${x.conid}`,
      sec_type: "STK",
      conid: String(x.conid),
      conidex: String(x.conid),
      clearing_id: "IB",
      clearing_name: "IB",
      liquidation_trade: 0,
    },
    `exec:${x.executionId}`,
    TRADE_KEEP,
    b,
    seed,
  );
}

const POSITION_KEEP = ["acctId", "conid", "position"];

export function positionRow(acct: string, conid: number, position: number, b: Behaviour, seed: number) {
  const price = 100 + (conid % 50);
  return withOptionalGaps(
    {
      acctId: acct,
      conid,
      contractDesc: `SIM${conid}`,
      assetClass: "STK",
      position,
      mktPrice: price,
      mktValue: position * price,
      currency: "USD",
      avgCost: price,
      avgPrice: price,
      realizedPnl: 0,
      unrealizedPnl: 0,
      exchs: "",
      multiplier: 1,
      undConid: 0,
      baseMktValue: position * price,
      baseMktPrice: price,
      baseAvgCost: price,
      baseAvgPrice: price,
      baseRealizedPnl: 0,
      baseUnrealizedPnl: 0,
      name: `Simulated ${conid}`,
      ticker: `SIM${conid}`,
      pageSize: POSITIONS_PAGE_SIZE,
    },
    `pos:${conid}`,
    POSITION_KEEP,
    b,
    seed,
  );
}
