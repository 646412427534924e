import type { SimContext, SimHandler } from "../context";
import { kalshiBook } from "../data/universe";

/**
 * Kalshi Trade API v2 trading double (docs.kalshi.com: create-order-v2, quick_start_authenticated_requests,
 * rate_limits). Every /portfolio request must carry a valid RSA-PSS signature (SHA-256, MGF1-SHA-256, salt
 * 32) over `timestamp + METHOD + path` by a key registered at `POST /__sim/kalshi/keys`, with a timestamp
 * within FRESHNESS_MS of the simulator's clock; anything else is 401. Orders fill against the seeded book.
 *
 * Dev/test admin (not Kalshi's): `POST /__sim/kalshi/keys { keyId, publicKeyPem }` (SPKI PEM),
 * `POST /__sim/kalshi/faults { afterAccept: "error"|"hang"|null, hangMs?, times? }`,
 * `POST /__sim/kalshi/limits { writeCapacity, writeRefillPerSecond }`,
 * `POST /__sim/kalshi/positions { ticker, delta }` (inject drift), `GET /__sim/kalshi/orders` (every order).
 */

const PREFIX = "/trade-api/v2";
/** How far a signed timestamp may be from the simulator's clock. */
export const FRESHNESS_MS = 5_000;

interface SimOrder {
  order_id: string;
  client_order_id: string;
  ticker: string;
  side: "yes" | "no";
  action: "buy" | "sell";
  type: "limit";
  status: "resting" | "canceled" | "executed";
  yes_price_dollars: string;
  no_price_dollars: string;
  initial_count_fp: string;
  fill_count_fp: string;
  remaining_count_fp: string;
  taker_fees_dollars: string;
  created_time: string;
  time_in_force: string;
}

/** Kalshi removed `client_order_id` from fills on 2026-03-30 (changelog); match fills by `order_id`. */
interface SimFill {
  fill_id: string;
  order_id: string;
  ticker: string;
  side: "yes";
  action: "buy" | "sell";
  count_fp: string;
  yes_price_dollars: string;
  no_price_dollars: string;
  is_taker: boolean;
  created_time: string;
}

interface Faults {
  afterAccept: "error" | "hang" | null;
  hangMs: number;
  times: number;
}

interface Limits {
  writeCapacity: number;
  writeRefillPerSecond: number;
}

const DEFAULT_LIMITS: Limits = { writeCapacity: 30, writeRefillPerSecond: 10 };

// Kalshi's order_errors page: rejections are `{ error: { code, message } }`; an unparsable body is a 400 with
// `code`/`message` at the top level.
const err = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });
const badBody = (message: string) => Response.json({ code: "bad_request", message }, { status: 400 });

/** Basis points (1e-4 dollars) of a dollar decimal string. */
function bp(s: string): number {
  const [w, f = ""] = s.split(".");
  return Number(w) * 10_000 + Number(f.padEnd(4, "0").slice(0, 4));
}
const dollars = (b: number) => `${Math.floor(b / 10_000)}.${String(b % 10_000).padStart(4, "0")}`;
const fp = (n: number) => `${n}.00`;
/** A total in basis points spread over `count` contracts, in dollars to 6 decimals ("0.017500"). */
const perContract = (totalBp: number, count: number) => {
  const micros = Math.round((totalBp * 100) / Math.max(1, count));
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, "0")}`;
};
const countOfFp = (s: string) => Math.trunc(Number(s));

/** The book the simulator fills against (the seeded universe's, shared with market data). */
export function simBook(
  sim: SimContext,
  ticker: string,
): { yesBids: number[][]; yesAsks: number[][] } | null {
  const book = kalshiBook(sim.seed, ticker, sim.now());
  if (!book) return null;
  // Kalshi books list bids only; a YES ask is 1 − a NO bid. Sorted best first.
  const yesBids = book.yes_dollars
    .map(([p, s]) => [bp(p), Math.floor(Number(s))])
    .sort((a, b) => b[0]! - a[0]!);
  const yesAsks = book.no_dollars
    .map(([p, s]) => [10_000 - bp(p), Math.floor(Number(s))])
    .sort((a, b) => a[0]! - b[0]!);
  return { yesBids, yesAsks };
}

function pemBody(pem: string): Uint8Array {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function verifySignature(request: Request, url: URL, sim: SimContext): Promise<Response | null> {
  const keyId = request.headers.get("KALSHI-ACCESS-KEY");
  const ts = request.headers.get("KALSHI-ACCESS-TIMESTAMP");
  const sig = request.headers.get("KALSHI-ACCESS-SIGNATURE");
  if (!keyId || !ts || !sig) return err(401, "unauthorized", "missing KALSHI-ACCESS-* headers");
  if (!/^\d{13}$/.test(ts) || Math.abs(sim.now() - Number(ts)) > FRESHNESS_MS)
    return err(401, "unauthorized", "stale or malformed timestamp");
  const pem = (await sim.storage.get<string>(`kalshi:key:${keyId}`)) ?? sim.kalshiPublicKeys[keyId];
  if (!pem) return err(401, "unauthorized", "unknown api key");
  let ok = false;
  try {
    const key = await crypto.subtle.importKey(
      "spki",
      pemBody(pem),
      { name: "RSA-PSS", hash: "SHA-256" },
      false,
      ["verify"],
    );
    const signature = Uint8Array.from(atob(sig), (c) => c.charCodeAt(0));
    const message = new TextEncoder().encode(`${ts}${request.method.toUpperCase()}${url.pathname}`);
    ok = await crypto.subtle.verify({ name: "RSA-PSS", saltLength: 32 }, key, signature, message);
  } catch {
    ok = false;
  }
  return ok ? null : err(401, "unauthorized", "signature does not verify");
}

/** A token bucket for writes; `cost` 10 for the legacy endpoint (its documented 10× rate cost). */
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
  count: number;
  tif: string;
}

async function createOrder(
  sim: SimContext,
  a: CreateArgs,
): Promise<{ order: SimOrder; avgBp: number; fee: number } | Response> {
  if (await sim.storage.get(`kalshi:coid:${a.clientOrderId}`))
    return err(409, "order_already_exists", `client_order_id ${a.clientOrderId} already used`);
  const book = simBook(sim, a.ticker);
  if (!book) return err(404, "market_not_found", `no market ${a.ticker}`);
  // Match a buy against asks at or below the limit, a sell against bids at or above it.
  const levels = a.action === "buy" ? book.yesAsks : book.yesBids;
  let filled = 0;
  let notional = 0;
  for (const [price, size] of levels) {
    if (filled >= a.count) break;
    if (a.action === "buy" ? price! > a.priceBp : price! < a.priceBp) break;
    const take = Math.min(size!, a.count - filled);
    filled += take;
    notional += take * price!;
  }
  if (a.tif === "fill_or_kill" && filled < a.count) {
    filled = 0;
    notional = 0;
  }
  const avgBp = filled > 0 ? Math.round(notional / filled) : 0;
  // Kalshi's taker fee: ceil(0.07 × C × P × (1 − P)) to the cent.
  const fee = filled > 0 ? Math.ceil(0.07 * filled * (avgBp / 10_000) * (1 - avgBp / 10_000) * 100) * 100 : 0;
  const seq = ((await sim.storage.get<number>("kalshi:seq")) ?? 0) + 1;
  const remaining = a.count - filled;
  const order: SimOrder = {
    order_id: `sim-${seq.toString().padStart(8, "0")}`,
    client_order_id: a.clientOrderId,
    ticker: a.ticker,
    side: "yes",
    action: a.action,
    type: "limit",
    status: remaining === 0 ? "executed" : a.tif === "good_till_canceled" ? "resting" : "canceled",
    yes_price_dollars: dollars(a.priceBp),
    no_price_dollars: dollars(10_000 - a.priceBp),
    initial_count_fp: fp(a.count),
    fill_count_fp: fp(filled),
    remaining_count_fp: fp(a.tif === "good_till_canceled" ? remaining : 0),
    taker_fees_dollars: dollars(fee),
    created_time: new Date(sim.now()).toISOString(),
    time_in_force: a.tif,
  };
  const writes: Record<string, unknown> = {
    "kalshi:seq": seq,
    [`kalshi:order:${order.order_id}`]: order,
    [`kalshi:coid:${a.clientOrderId}`]: order.order_id,
  };
  if (filled > 0) {
    const fill: SimFill = {
      fill_id: `fill-${order.order_id}`,
      order_id: order.order_id,
      ticker: a.ticker,
      side: "yes",
      action: a.action,
      count_fp: fp(filled),
      yes_price_dollars: dollars(avgBp),
      no_price_dollars: dollars(10_000 - avgBp),
      is_taker: true,
      created_time: order.created_time,
    };
    writes[`kalshi:fill:${order.order_id}`] = fill;
    const posKey = `kalshi:pos:${a.ticker}`;
    const pos = (await sim.storage.get<number>(posKey)) ?? 0;
    writes[posKey] = pos + (a.action === "buy" ? filled : -filled);
  }
  await sim.storage.put(writes);
  return { order, avgBp, fee };
}

/** Applies the "after acceptance" fault: the order is stored, the answer is lost. */
async function afterAcceptFault(sim: SimContext): Promise<Response | null> {
  const f = await sim.storage.get<Faults>("kalshi:faults");
  if (!f?.afterAccept || f.times <= 0) return null;
  await sim.storage.put("kalshi:faults", { ...f, times: f.times - 1 });
  if (f.afterAccept === "hang") await new Promise((r) => setTimeout(r, f.hangMs));
  return err(504, "gateway_timeout", "upstream timed out");
}

const isCount = (s: unknown): s is string =>
  typeof s === "string" && /^\d{1,9}(\.0{1,2})?$/.test(s) && Number(s) >= 1;
const isPrice = (s: unknown): s is string =>
  typeof s === "string" && /^0\.\d{2,4}$/.test(s) && bp(s) >= 100 && bp(s) <= 9_900;
const TIFS = ["fill_or_kill", "good_till_canceled", "immediate_or_cancel"];
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

async function readJson(request: Request): Promise<Record<string, unknown> | null> {
  try {
    const body = await request.json();
    return body && typeof body === "object" && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

async function handleAdmin(request: Request, url: URL, sim: SimContext): Promise<Response | null> {
  const sub = url.pathname.slice("/__sim/kalshi/".length);
  if (request.method === "GET" && sub === "orders") {
    const orders = await sim.storage.list<SimOrder>({ prefix: "kalshi:order:" });
    return Response.json({ orders: [...orders.values()] });
  }
  if (request.method !== "POST") return null;
  const body = await readJson(request);
  if (!body) return err(400, "bad_request", "JSON object body required");
  if (sub === "keys") {
    if (
      typeof body.keyId !== "string" ||
      typeof body.publicKeyPem !== "string" ||
      !body.publicKeyPem.includes("BEGIN PUBLIC KEY")
    )
      return err(400, "bad_request", "keyId and an SPKI publicKeyPem are required");
    await sim.storage.put(`kalshi:key:${body.keyId}`, body.publicKeyPem);
    return Response.json({ registered: body.keyId }, { status: 201 });
  }
  if (sub === "faults") {
    const mode = body.afterAccept ?? null;
    if (mode !== null && mode !== "error" && mode !== "hang")
      return err(400, "bad_request", "afterAccept: error | hang | null");
    const faults: Faults = {
      afterAccept: mode,
      hangMs: Number(body.hangMs ?? 2_000),
      times: Number(body.times ?? 1),
    };
    await sim.storage.put("kalshi:faults", faults);
    return Response.json(faults);
  }
  if (sub === "limits") {
    const limits: Limits = {
      writeCapacity: Number(body.writeCapacity ?? DEFAULT_LIMITS.writeCapacity),
      writeRefillPerSecond: Number(body.writeRefillPerSecond ?? DEFAULT_LIMITS.writeRefillPerSecond),
    };
    await sim.storage.put("kalshi:limits", limits);
    await sim.storage.delete([...(await sim.storage.list({ prefix: "kalshi:bucket:" })).keys()]);
    return Response.json(limits);
  }
  if (sub === "positions") {
    if (typeof body.ticker !== "string" || !Number.isInteger(body.delta))
      return err(400, "bad_request", "ticker and integer delta");
    const k = `kalshi:pos:${body.ticker}`;
    const pos = ((await sim.storage.get<number>(k)) ?? 0) + (body.delta as number);
    await sim.storage.put(k, pos);
    return Response.json({ ticker: body.ticker, position: pos });
  }
  return null;
}

/** Dev/test admin endpoints, also reachable from hosts other than Kalshi's (see ibkr.ts). */
export const handleKalshiSimAdmin: SimHandler = async (request, url, sim) =>
  url.pathname.startsWith("/__sim/kalshi/") ? handleAdmin(request, url, sim) : null;

export const handleKalshiTrading: SimHandler = async (request, url, sim) => {
  if (url.pathname.startsWith("/__sim/kalshi/")) return handleAdmin(request, url, sim);
  if (!url.pathname.startsWith(`${PREFIX}/portfolio/`)) return null;
  const denied = await verifySignature(request, url, sim);
  if (denied) {
    await request.arrayBuffer().catch(() => null);
    return denied;
  }
  const keyId = request.headers.get("KALSHI-ACCESS-KEY")!;
  const path = url.pathname.slice(PREFIX.length);
  const method = request.method;

  if (method === "POST" && (path === "/portfolio/events/orders" || path === "/portfolio/orders")) {
    const legacy = path === "/portfolio/orders";
    // Read the body before any early answer: an unread request stream breaks the service-binding hop.
    const b = await readJson(request);
    if (!(await takeWriteTokens(sim, keyId, legacy ? 10 : 1)))
      return Response.json({ error: "too many requests" }, { status: 429 });
    if (!b) return badBody("JSON body required");
    let args: CreateArgs;
    if (!legacy) {
      if (
        typeof b.ticker !== "string" ||
        typeof b.client_order_id !== "string" ||
        !CLIENT_ID.test(b.client_order_id)
      )
        return err(400, "invalid_parameters", "ticker and client_order_id are required");
      if (b.side !== "bid" && b.side !== "ask")
        return err(400, "invalid_parameters", "side must be bid or ask");
      if (!isCount(b.count) || !isPrice(b.price))
        return err(400, "invalid_parameters", 'count "10.00" and price "0.5600" required');
      const tif = typeof b.time_in_force === "string" ? b.time_in_force : "good_till_canceled";
      if (!TIFS.includes(tif)) return err(400, "invalid_parameters", "bad time_in_force");
      args = {
        ticker: b.ticker,
        clientOrderId: b.client_order_id,
        action: b.side === "bid" ? "buy" : "sell",
        priceBp: bp(b.price),
        count: Math.floor(Number(b.count)),
        tif,
      };
    } else {
      // Legacy: side yes|no, action buy|sell, integer cents; a NO order is the mirror YES order.
      if (
        typeof b.ticker !== "string" ||
        typeof b.client_order_id !== "string" ||
        !CLIENT_ID.test(b.client_order_id)
      )
        return err(400, "invalid_parameters", "ticker and client_order_id are required");
      if (
        (b.side !== "yes" && b.side !== "no") ||
        (b.action !== "buy" && b.action !== "sell") ||
        !Number.isInteger(b.count)
      )
        return err(400, "invalid_parameters", "side, action and integer count required");
      const cents = b.side === "yes" ? b.yes_price : b.no_price;
      if (!Number.isInteger(cents) || (cents as number) < 1 || (cents as number) > 99)
        return err(400, "invalid_parameters", "price in cents 1..99");
      const yesBp = b.side === "yes" ? (cents as number) * 100 : 10_000 - (cents as number) * 100;
      const action = b.side === "yes" ? b.action : b.action === "buy" ? "sell" : "buy";
      const tif = typeof b.time_in_force === "string" ? b.time_in_force : "good_till_canceled";
      args = {
        ticker: b.ticker,
        clientOrderId: b.client_order_id,
        action,
        priceBp: yesBp,
        count: b.count as number,
        tif,
      };
    }
    const created = await createOrder(sim, args);
    if (created instanceof Response) return created;
    const fault = await afterAcceptFault(sim);
    if (fault) return fault;
    const { order, avgBp, fee } = created;
    if (legacy) return Response.json({ order }, { status: 201 });
    return Response.json(
      {
        order_id: order.order_id,
        client_order_id: order.client_order_id,
        fill_count: order.fill_count_fp,
        remaining_count: order.remaining_count_fp,
        ts_ms: sim.now(),
        // Per contract, like the fill price (public clients multiply it by fill_count), to 6 decimals.
        ...(avgBp > 0
          ? {
              average_fill_price: dollars(avgBp),
              average_fee_paid: perContract(fee, countOfFp(order.fill_count_fp)),
            }
          : {}),
      },
      { status: 201 },
    );
  }

  const cancel = /^\/portfolio\/(?:events\/)?orders\/([A-Za-z0-9_-]+)$/.exec(path);
  if (method === "DELETE" && cancel) {
    if (!(await takeWriteTokens(sim, keyId, 1)))
      return Response.json({ error: "too many requests" }, { status: 429 });
    const order = await sim.storage.get<SimOrder>(`kalshi:order:${cancel[1]}`);
    if (!order) return err(404, "not_found", "order not found");
    const reducedBy = order.status === "resting" ? order.remaining_count_fp : "0.00";
    const updated: SimOrder = {
      ...order,
      status: order.status === "resting" ? "canceled" : order.status,
      remaining_count_fp: "0.00",
    };
    await sim.storage.put(`kalshi:order:${order.order_id}`, updated);
    return path.startsWith("/portfolio/events/")
      ? Response.json({
          order_id: order.order_id,
          client_order_id: order.client_order_id,
          reduced_by: reducedBy,
          ts_ms: sim.now(),
        })
      : Response.json({ order: updated, reduced_by: reducedBy });
  }

  if (method !== "GET") return null;
  const byId = /^\/portfolio\/orders\/([A-Za-z0-9_-]+)$/.exec(path);
  if (byId) {
    const order = await sim.storage.get<SimOrder>(`kalshi:order:${byId[1]}`);
    return order ? Response.json({ order }) : err(404, "not_found", "order not found");
  }
  if (path === "/portfolio/orders") {
    const ticker = url.searchParams.get("ticker");
    const all = [...(await sim.storage.list<SimOrder>({ prefix: "kalshi:order:" })).values()];
    const orders = all.filter((o) => !ticker || o.ticker === ticker).reverse();
    return Response.json({ orders, cursor: "" });
  }
  if (path === "/portfolio/positions") {
    const rows = await sim.storage.list<number>({ prefix: "kalshi:pos:" });
    const market_positions = [...rows.entries()]
      .filter(([, p]) => p !== 0)
      .map(([k, p]) => ({
        ticker: k.slice("kalshi:pos:".length),
        position_fp: `${p}.00`,
        market_exposure_dollars: "0.0000",
        realized_pnl_dollars: "0.0000",
        fees_paid_dollars: "0.0000",
      }));
    return Response.json({ market_positions, event_positions: [], cursor: "" });
  }
  if (path === "/portfolio/balance") {
    return Response.json({
      balance: 1_000_000,
      balance_dollars: "10000.0000",
      portfolio_value: 1_000_000,
      updated_ts: sim.now(),
    });
  }
  if (path === "/portfolio/fills") {
    const ticker = url.searchParams.get("ticker");
    const fills = [...(await sim.storage.list<SimFill>({ prefix: "kalshi:fill:" })).values()].filter(
      (f) => !ticker || f.ticker === ticker,
    );
    return Response.json({ fills, cursor: "" });
  }
  return null;
};
