import { kalshiEndpoint } from "@paulp/kalshi-spec";
import { kalshiTakerFee, mulDiv } from "@paulp/kit";
import { kalshiBook } from "@paulp/sim-universe";
import type * as K from "kalshi-typescript";
import type { SimContext, SimHandler } from "../context";
import { afterAcceptFault, DEFAULT_LIMITS, type Faults, handleAdmin, type Limits, readJson } from "./admin";
import { kalshiAuth } from "./auth";
import { badBody, bp, dollars, err, fp, hundredths, perContract, totalDollars } from "./wire";

export { handleKalshiSimAdmin } from "./admin";
export { FRESHNESS_MS } from "./auth";

/**
 * Kalshi Trade API v2 trading double, held to kalshi-typescript 3.30.0 (`api/orders-api.ts`,
 * `api/portfolio-api.ts`, `models/order.ts`, `fill.ts`, `market-position.ts`): every /portfolio request must
 * carry a valid RSA-PSS signature by a known key (src/kalshi/auth.ts), writes need the key's `write` scope.
 * Orders fill against the seeded book; counts are exact to 0.01 (kept in hundredths). Every body is built as
 * the SDK's model type. Lists page with an opaque cursor; `limit` defaults to 100 as documented.
 *
 * Dev/test admin (not Kalshi's): `POST /__sim/kalshi/keys { keyId, publicKeyPem, scopes? }` (SPKI PEM),
 * `POST /__sim/kalshi/faults { afterAccept: "error"|"hang"|"hold"|null, hangMs?, times?, fillCount? }` ("hold":
 * the answer waits until `POST /__sim/kalshi/release`, at most `hangMs`; `GET /__sim/kalshi/held` answers once
 * one waits),
 * `POST /__sim/kalshi/limits { writeCapacity, writeRefillPerSecond }`,
 * `POST /__sim/kalshi/positions { ticker, delta }` (inject drift), `GET /__sim/kalshi/orders` (every order).
 */

const PREFIX = "/trade-api/v2";

/** What the simulator keeps per order: the official model, plus the fill cost in basis points. */
type SimOrder = K.Order;

/** The book the simulator fills against (the seeded universe's, shared with market data); sizes in hundredths. */
export function simBook(
  sim: SimContext,
  ticker: string,
): { yesBids: number[][]; yesAsks: number[][] } | null {
  const book = kalshiBook(sim.seed, sim.universe, ticker, sim.marketNow());
  if (!book) return null;
  // Kalshi books list bids only; a YES ask is 1 − a NO bid. Sorted best first.
  const yesBids = book.yes_dollars.map(([p, s]) => [bp(p!), hundredths(s!)]).sort((a, b) => b[0]! - a[0]!);
  const yesAsks = book.no_dollars
    .map(([p, s]) => [10_000 - bp(p!), hundredths(s!)])
    .sort((a, b) => a[0]! - b[0]!);
  return { yesBids, yesAsks };
}

/** A token bucket for writes, per key (the write budget of docs.kalshi.com rate_limits). */
async function takeWriteTokens(sim: SimContext, keyId: string, cost: number): Promise<boolean> {
  const limits = (await sim.storage.get<Limits>("kalshi:limits")) ?? DEFAULT_LIMITS;
  const now = sim.now();
  const k = `kalshi:bucket:${keyId}`;
  const b = (await sim.storage.get<{ tokens: number; at: number }>(k)) ?? {
    tokens: limits.writeCapacity,
    at: now,
  };
  const tokens = Math.min(
    limits.writeCapacity,
    b.tokens + ((now - b.at) / 1000) * limits.writeRefillPerSecond,
  );
  if (tokens < cost) {
    await sim.storage.put(k, { tokens, at: now });
    return false;
  }
  await sim.storage.put(k, { tokens: tokens - cost, at: now });
  return true;
}

interface CreateArgs {
  ticker: string;
  clientOrderId: string;
  action: "buy" | "sell";
  priceBp: number;
  /** Hundredths of a contract. */
  count: number;
  tif: string;
  stp: K.SelfTradePreventionType;
}

/** What an order takes from one side of the book (levels best first, [bp, hundredths]); pure. */
export function matchOrder(
  levels: number[][],
  action: "buy" | "sell",
  limitBp: number,
  /** The most it may fill, in hundredths. */
  cap: number,
  /** Fill-or-kill: fill nothing unless this many hundredths fill (0: immediate-or-cancel or resting). */
  allOrNone: number,
): { filled: number; notional: number; avgBp: number; feeBpH: number } {
  // A buy takes asks at or below the limit, a sell bids at or above it (notional in bp × hundredths).
  let filled = 0;
  let notional = 0;
  for (const [price, size] of levels) {
    if (filled >= cap) break;
    if (action === "buy" ? price! > limitBp : price! < limitBp) break;
    const take = Math.min(size!, cap - filled);
    filled += take;
    notional += take * price!;
  }
  if (filled < allOrNone) return { filled: 0, notional: 0, avgBp: 0, feeBpH: 0 };
  if (filled === 0) return { filled, notional, avgBp: 0, feeBpH: 0 };
  // The average price half-up, and Kalshi's taker fee ceil(0.07 × C × P × (1 − P)) to the cent on kit's exact
  // schedule (bp × hundredths = micros): the float formula this replaces charged $1.76 for 100 contracts at 0.50.
  return {
    filled,
    notional,
    avgBp: mulDiv(notional, 1, filled, "half-up"),
    feeBpH: kalshiTakerFee(filled, mulDiv(notional, 100, filled, "half-up")),
  };
}

async function createOrder(
  sim: SimContext,
  a: CreateArgs,
): Promise<{ order: SimOrder; notional: number; feeBpH: number } | Response> {
  if (await sim.storage.get(`kalshi:coid:${a.clientOrderId}`))
    return err(409, "order_already_exists", `client_order_id ${a.clientOrderId} already used`);
  const book = simBook(sim, a.ticker);
  if (!book) return err(404, "market_not_found", `no market ${a.ticker}`);
  const faults = await sim.storage.get<Faults>("kalshi:faults");
  let cap = a.count;
  if (faults?.fillCount && faults.times > 0) {
    cap = Math.min(cap, hundredths(faults.fillCount));
    await sim.storage.put("kalshi:faults", { ...faults, times: faults.times - 1 });
  }
  const { filled, notional, avgBp, feeBpH } = matchOrder(
    a.action === "buy" ? book.yesAsks : book.yesBids,
    a.action,
    a.priceBp,
    cap,
    a.tif === "fill_or_kill" ? a.count : 0,
  );
  // The fill cost is what the taker paid for its side: YES dollars for a bid, NO dollars for an ask.
  const costBpH = a.action === "buy" ? notional : filled * 10_000 - notional;
  const seq = ((await sim.storage.get<number>("kalshi:seq")) ?? 0) + 1;
  const remaining = a.count - filled;
  const at = new Date(sim.now()).toISOString();
  const order: SimOrder = {
    order_id: `sim-${seq.toString().padStart(8, "0")}`,
    user_id: "sim-user",
    client_order_id: a.clientOrderId,
    ticker: a.ticker,
    outcome_side: a.action === "buy" ? "yes" : "no",
    book_side: a.action === "buy" ? "bid" : "ask",
    type: "limit",
    status: remaining === 0 ? "executed" : a.tif === "good_till_canceled" ? "resting" : "canceled",
    yes_price_dollars: dollars(a.priceBp),
    no_price_dollars: dollars(10_000 - a.priceBp),
    initial_count_fp: fp(a.count),
    fill_count_fp: fp(filled),
    remaining_count_fp: fp(a.tif === "good_till_canceled" ? remaining : 0),
    taker_fill_cost_dollars: totalDollars(costBpH),
    maker_fill_cost_dollars: "0.000000",
    taker_fees_dollars: totalDollars(feeBpH),
    maker_fees_dollars: "0.000000",
    created_time: at,
    last_update_time: at,
    self_trade_prevention_type: a.stp,
    order_group_id: null,
    subaccount_number: 0,
  } satisfies K.Order;
  const writes: Record<string, unknown> = {
    "kalshi:seq": seq,
    [`kalshi:order:${order.order_id}`]: order,
    [`kalshi:coid:${a.clientOrderId}`]: order.order_id,
  };
  if (filled > 0) {
    const fill: K.Fill = {
      fill_id: `fill-${order.order_id}`,
      exchange_index: 0,
      trade_id: `fill-${order.order_id}`,
      order_id: order.order_id,
      ticker: a.ticker,
      market_ticker: a.ticker,
      outcome_side: order.outcome_side,
      book_side: order.book_side,
      count_fp: fp(filled),
      yes_price_dollars: dollars(avgBp),
      no_price_dollars: dollars(10_000 - avgBp),
      is_taker: true,
      created_time: at,
      fee_cost: totalDollars(feeBpH),
      ts: Math.floor(sim.now() / 1000),
    } satisfies K.Fill;
    writes[`kalshi:fill:${order.order_id}`] = fill;
    const posKey = `kalshi:pos:${a.ticker}`;
    const pos = (await sim.storage.get<number>(posKey)) ?? 0;
    writes[posKey] = pos + (a.action === "buy" ? filled : -filled);
  }
  await sim.storage.put(writes);
  return { order, notional, feeBpH };
}

/** Requests accept counts with 0-2 decimals; the granularity is 0.01 contracts. */
const isCount = (s: unknown): s is string =>
  typeof s === "string" && /^\d{1,9}(\.\d{1,2})?$/.test(s) && hundredths(s) >= 1;
const isPrice = (s: unknown): s is string =>
  typeof s === "string" && /^0\.\d{2,4}$/.test(s) && bp(s) >= 100 && bp(s) <= 9_900;
const TIFS = ["fill_or_kill", "good_till_canceled", "immediate_or_cancel"];
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** One page of a list, by an opaque cursor (the base64 of the next index); `limit` defaults to 100. */
function page<T>(items: T[], url: URL): { items: T[]; cursor: string } | Response {
  const limit = Number(url.searchParams.get("limit") ?? "100");
  const raw = url.searchParams.get("cursor") ?? "";
  let start = 0;
  if (raw) {
    try {
      start = Number(atob(raw));
    } catch {
      start = Number.NaN;
    }
    if (!Number.isInteger(start) || start < 0) return err(400, "invalid_parameters", "invalid cursor");
  }
  const end = start + limit;
  return { items: items.slice(start, end), cursor: end < items.length ? btoa(String(end)) : "" };
}

export const handleKalshiTrading: SimHandler = async (request, url, sim) => {
  if (url.pathname.startsWith("/__sim/kalshi/")) return handleAdmin(request, url, sim);
  if (!url.pathname.startsWith(`${PREFIX}/portfolio/`)) return null;
  const auth = await kalshiAuth(request, url, sim);
  if ("refused" in auth) return auth.refused;
  const keyId = auth.keyId!;
  const endpoint = kalshiEndpoint(request.method, url.pathname);
  if (!endpoint) return err(404, "not_found", `no route ${request.method} ${url.pathname}`);
  for (const [name, value] of url.searchParams) {
    const check = endpoint.query[name];
    const why = check ? check(value) : "is not a parameter of this endpoint";
    if (why) return err(400, "invalid_parameters", `${name}: ${why}`);
  }
  const path = url.pathname.slice(PREFIX.length);

  if (endpoint.operation === "createOrderV2") {
    // Read the body before any early answer: an unread request stream breaks the service-binding hop.
    const b = await readJson(request);
    if (!(await takeWriteTokens(sim, keyId, 1)))
      return Response.json({ error: "too many requests" }, { status: 429 });
    if (!b) return badBody("JSON body required");
    if (
      typeof b.ticker !== "string" ||
      typeof b.client_order_id !== "string" ||
      !CLIENT_ID.test(b.client_order_id)
    )
      return err(400, "invalid_parameters", "ticker and client_order_id are required");
    if (b.side !== "bid" && b.side !== "ask")
      return err(400, "invalid_parameters", "side must be bid or ask");
    if (!isCount(b.count) || !isPrice(b.price))
      return err(
        400,
        "invalid_parameters",
        'count ("10.00", 0.01 granularity) and price ("0.5600") required',
      );
    if (typeof b.time_in_force !== "string" || !TIFS.includes(b.time_in_force))
      return err(
        400,
        "invalid_parameters",
        "time_in_force is required: fill_or_kill | good_till_canceled | immediate_or_cancel",
      );
    if (b.self_trade_prevention_type !== "taker_at_cross" && b.self_trade_prevention_type !== "maker")
      return err(400, "invalid_parameters", "self_trade_prevention_type is required: taker_at_cross | maker");
    const created = await createOrder(sim, {
      ticker: b.ticker,
      clientOrderId: b.client_order_id,
      action: b.side === "bid" ? "buy" : "sell",
      priceBp: bp(b.price),
      count: hundredths(b.count),
      tif: b.time_in_force,
      stp: b.self_trade_prevention_type,
    });
    if (created instanceof Response) return created;
    const fault = await afterAcceptFault(sim);
    if (fault) return fault;
    const { order, notional, feeBpH } = created;
    const filledH = hundredths(order.fill_count_fp);
    return Response.json(
      {
        order_id: order.order_id,
        client_order_id: order.client_order_id,
        fill_count: order.fill_count_fp,
        remaining_count: order.remaining_count_fp,
        ts_ms: sim.now(),
        // Per contract, like the fill price (public clients multiply the fee by fill_count), to 6 decimals.
        ...(filledH > 0
          ? {
              average_fill_price: perContract(notional, filledH),
              average_fee_paid: perContract(feeBpH, filledH),
            }
          : {}),
      } satisfies K.CreateOrderV2Response,
      { status: 201 },
    );
  }

  if (endpoint.operation === "cancelOrderV2") {
    if (!(await takeWriteTokens(sim, keyId, 1)))
      return Response.json({ error: "too many requests" }, { status: 429 });
    const id = decodeURIComponent(path.split("/").at(-1)!);
    const order = await sim.storage.get<SimOrder>(`kalshi:order:${id}`);
    if (!order) return err(404, "not_found", "order not found");
    const reducedBy = order.status === "resting" ? order.remaining_count_fp : "0.00";
    const updated: SimOrder = {
      ...order,
      status: order.status === "resting" ? "canceled" : order.status,
      remaining_count_fp: "0.00",
      last_update_time: new Date(sim.now()).toISOString(),
    };
    await sim.storage.put(`kalshi:order:${order.order_id}`, updated);
    return Response.json({
      order_id: order.order_id,
      client_order_id: order.client_order_id,
      reduced_by: reducedBy,
      ts_ms: sim.now(),
    } satisfies K.CancelOrderV2Response);
  }

  if (endpoint.operation === "getOrder") {
    const order = await sim.storage.get<SimOrder>(
      `kalshi:order:${decodeURIComponent(path.split("/").at(-1)!)}`,
    );
    return order
      ? Response.json({ order } satisfies K.GetOrderResponse)
      : err(404, "not_found", "order not found");
  }
  if (endpoint.operation === "getOrders") {
    const ticker = url.searchParams.get("ticker");
    const status = url.searchParams.get("status");
    const all = [...(await sim.storage.list<SimOrder>({ prefix: "kalshi:order:" })).values()];
    const p = page(
      all.filter((o) => (!ticker || o.ticker === ticker) && (!status || o.status === status)).reverse(),
      url,
    );
    return p instanceof Response
      ? p
      : Response.json({ orders: p.items, cursor: p.cursor } satisfies K.GetOrdersResponse);
  }
  if (endpoint.operation === "getPositions") {
    const ticker = url.searchParams.get("ticker");
    const onlyOpen = url.searchParams.get("count_filter")?.split(",").includes("position") ?? false;
    const rows = await sim.storage.list<number>({ prefix: "kalshi:pos:" });
    const at = new Date(sim.now()).toISOString();
    const positions = [...rows.entries()]
      .map(([k, h]) => ({ ticker: k.slice("kalshi:pos:".length), h }))
      .filter((p) => (!ticker || p.ticker === ticker) && (!onlyOpen || p.h !== 0))
      .map(
        (p): K.MarketPosition => ({
          ticker: p.ticker,
          exchange_index: 0,
          total_traded_dollars: "0.0000",
          position_fp: fp(p.h),
          market_exposure_dollars: "0.0000",
          realized_pnl_dollars: "0.0000",
          fees_paid_dollars: "0.0000",
          last_updated_ts: at,
        }),
      );
    const p = page(positions, url);
    return p instanceof Response
      ? p
      : Response.json({
          market_positions: p.items,
          event_positions: [],
          cursor: p.cursor,
        } satisfies K.GetPositionsResponse);
  }
  if (endpoint.operation === "getBalance") {
    return Response.json({
      balance: 1_000_000,
      balance_dollars: "10000.0000",
      portfolio_value: 1_000_000,
      updated_ts: Math.floor(sim.now() / 1000),
    } satisfies K.GetBalanceResponse);
  }
  if (endpoint.operation === "getFills") {
    const ticker = url.searchParams.get("ticker");
    const orderId = url.searchParams.get("order_id");
    const fills = [...(await sim.storage.list<K.Fill>({ prefix: "kalshi:fill:" })).values()].filter(
      (f) => (!ticker || f.ticker === ticker) && (!orderId || f.order_id === orderId),
    );
    const p = page(fills, url);
    return p instanceof Response
      ? p
      : Response.json({ fills: p.items, cursor: p.cursor } satisfies K.GetFillsResponse);
  }
  return err(404, "not_found", `${endpoint.operation} is not simulated`);
};
