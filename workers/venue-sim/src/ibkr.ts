import type { SimContext, SimHandler } from "./context";
import { handleKalshiSimAdmin } from "./kalshi/trading";

/**
 * IBKR Client Portal Web API double under /v1/api (IBKR Campus Web API docs; Voyz/ibind). The gateway's host
 * is per deployment, so this answers any host. Session: logged in until IDLE_MS without a request, then
 * `authenticated: false` until `POST /iserver/reauthenticate`. Orders ask the configured questions, one per
 * reply round (`POST /iserver/reply/{id}` may chain), then fill at their limit price.
 *
 * Dev/test admin: `POST /__sim/ibkr/session { authenticated?, loggedOut? }`, `POST /__sim/ibkr/questions
 * { messageIds: [...] }`, `POST /__sim/ibkr/limits { capacity, refillPerSecond }`, `POST /__sim/ibkr/positions
 * { conid, delta }`, `GET /__sim/ibkr/orders`. `/__sim/kalshi/*` is forwarded here for hosts that are not Kalshi's.
 */

const API = "/v1/api";
/** Sessions expire after about five minutes without a request (IBKR: tickle about once a minute). */
export const IDLE_MS = 5 * 60_000;
/** The simulated account. */
export const SIM_ACCOUNT = "DU1234567";

/** What each question's message says; ids follow IBKR's `o…` message ids. */
const QUESTION_TEXT: Record<string, string> = {
  o354: "You are submitting an order without market data. Are you sure you want to submit this order?",
  o163: "The following order exceeds the price percentage limit. Are you sure you want to submit this order?",
  o383: "The following order size exceeds the Size Limit. Are you sure you want to submit this order?",
};

interface Session {
  authenticated: boolean;
  loggedOut: boolean;
  lastSeen: number;
}
interface IbkrOrder {
  orderId: string;
  cOID: string;
  acct: string;
  conid: number;
  side: "BUY" | "SELL";
  orderType: string;
  price: number;
  quantity: number;
  tif: string;
  status: "Submitted" | "Filled" | "Cancelled";
  filledQuantity: number;
}
interface Pending {
  order: Omit<IbkrOrder, "orderId" | "status" | "filledQuantity">;
  questions: string[];
}

const fail = (status: number, error: string) => Response.json({ error }, { status });

async function body(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    return null;
  }
}

async function session(sim: SimContext): Promise<Session> {
  const s = (await sim.storage.get<Session>("ibkr:session")) ?? {
    authenticated: true,
    loggedOut: false,
    lastSeen: sim.now(),
  };
  if (s.authenticated && sim.now() - s.lastSeen > IDLE_MS) s.authenticated = false;
  return s;
}

async function pacing(sim: SimContext): Promise<boolean> {
  const lim = (await sim.storage.get<{ capacity: number; refillPerSecond: number }>("ibkr:limits")) ?? {
    capacity: 50,
    refillPerSecond: 10,
  };
  const now = sim.now();
  const b = (await sim.storage.get<{ tokens: number; at: number }>("ibkr:bucket")) ?? {
    tokens: lim.capacity,
    at: now,
  };
  const tokens = Math.min(lim.capacity, b.tokens + ((now - b.at) / 1000) * lim.refillPerSecond);
  await sim.storage.put("ibkr:bucket", { tokens: tokens >= 1 ? tokens - 1 : tokens, at: now });
  return tokens >= 1;
}

async function place(sim: SimContext, o: Pending["order"]): Promise<Response> {
  const seq = ((await sim.storage.get<number>("ibkr:seq")) ?? 0) + 1;
  const order: IbkrOrder = {
    ...o,
    orderId: String(1_000_000 + seq),
    status: "Filled",
    filledQuantity: o.quantity,
  };
  const posKey = `ibkr:pos:${o.conid}`;
  const pos = (await sim.storage.get<number>(posKey)) ?? 0;
  await sim.storage.put({
    "ibkr:seq": seq,
    [`ibkr:order:${order.orderId}`]: order,
    [`ibkr:coid:${o.cOID}`]: order.orderId,
    [posKey]: pos + (o.side === "BUY" ? o.quantity : -o.quantity),
  });
  return Response.json([{ order_id: order.orderId, order_status: "Submitted", encrypt_message: "1" }]);
}

function question(replyId: string, messageId: string): Response {
  return Response.json([
    {
      id: replyId,
      message: [QUESTION_TEXT[messageId] ?? `Unrecognised warning ${messageId}`],
      isSuppressed: false,
      messageIds: [messageId],
    },
  ]);
}

async function admin(request: Request, url: URL, sim: SimContext): Promise<Response | null> {
  const sub = url.pathname.slice("/__sim/ibkr/".length);
  if (request.method === "GET" && sub === "orders") {
    return Response.json({
      orders: [...(await sim.storage.list<IbkrOrder>({ prefix: "ibkr:order:" })).values()],
    });
  }
  if (request.method !== "POST") return null;
  const b = (await body(request)) as Record<string, unknown> | null;
  if (!b || typeof b !== "object") return fail(400, "JSON object body required");
  if (sub === "session") {
    const s = await session(sim);
    const next: Session = {
      authenticated: typeof b.authenticated === "boolean" ? b.authenticated : s.authenticated,
      loggedOut: typeof b.loggedOut === "boolean" ? b.loggedOut : s.loggedOut,
      lastSeen: typeof b.idleMs === "number" ? sim.now() - b.idleMs : sim.now(),
    };
    await sim.storage.put("ibkr:session", next);
    return Response.json(next);
  }
  if (sub === "questions") {
    if (!Array.isArray(b.messageIds) || !b.messageIds.every((m) => typeof m === "string"))
      return fail(400, "messageIds: string[]");
    await sim.storage.put("ibkr:questions", b.messageIds);
    return Response.json({ messageIds: b.messageIds });
  }
  if (sub === "limits") {
    await sim.storage.put("ibkr:limits", {
      capacity: Number(b.capacity ?? 50),
      refillPerSecond: Number(b.refillPerSecond ?? 10),
    });
    await sim.storage.delete("ibkr:bucket");
    return Response.json({ ok: true });
  }
  if (sub === "positions") {
    if (!Number.isInteger(b.conid) || !Number.isInteger(b.delta)) return fail(400, "integer conid and delta");
    const k = `ibkr:pos:${b.conid}`;
    const pos = ((await sim.storage.get<number>(k)) ?? 0) + (b.delta as number);
    await sim.storage.put(k, pos);
    return Response.json({ conid: b.conid, position: pos });
  }
  return null;
}

function parseOrder(raw: unknown, acct: string): Pending["order"] | string {
  // Both forms are seen: `{ orders: [...] }` and a bare array.
  const list = Array.isArray(raw) ? raw : (raw as { orders?: unknown } | null)?.orders;
  if (!Array.isArray(list) || list.length !== 1) return "exactly one order expected";
  const o = list[0] as Record<string, unknown>;
  if (!Number.isInteger(o.conid)) return "conid required";
  if (o.side !== "BUY" && o.side !== "SELL") return "side must be BUY or SELL";
  if (o.orderType !== "LMT") return "only LMT orders are simulated";
  if (typeof o.price !== "number" || !(o.price > 0)) return "price required";
  if (!Number.isInteger(o.quantity) || (o.quantity as number) < 1) return "quantity required";
  if (typeof o.cOID !== "string" || o.cOID.length === 0) return "cOID required";
  return {
    cOID: o.cOID,
    acct,
    conid: o.conid as number,
    side: o.side,
    orderType: "LMT",
    price: o.price,
    quantity: o.quantity as number,
    tif: String(o.tif ?? "DAY"),
  };
}

export const handleIbkr: SimHandler = async (request, url, sim) => {
  if (url.pathname.startsWith("/__sim/ibkr/")) return admin(request, url, sim);
  if (url.pathname.startsWith("/__sim/kalshi/")) return handleKalshiSimAdmin(request, url, sim);
  if (!url.pathname.startsWith(`${API}/`)) return null;
  if (!(await pacing(sim))) return fail(429, "Too many requests");
  const path = url.pathname.slice(API.length);
  const m = request.method;
  const s = await session(sim);

  if (m === "POST" && path === "/iserver/auth/status") {
    if (s.authenticated) await sim.storage.put("ibkr:session", { ...s, lastSeen: sim.now() });
    return Response.json({
      authenticated: s.authenticated,
      competing: false,
      connected: !s.loggedOut,
      message: "",
    });
  }
  if (m === "POST" && path === "/tickle") {
    if (s.authenticated) await sim.storage.put("ibkr:session", { ...s, lastSeen: sim.now() });
    return Response.json({
      session: "sim",
      ssoExpires: IDLE_MS,
      iserver: { authStatus: { authenticated: s.authenticated, competing: false, connected: !s.loggedOut } },
    });
  }
  if (m === "POST" && path === "/iserver/reauthenticate") {
    if (s.loggedOut) return fail(401, "not logged in");
    await sim.storage.put("ibkr:session", { ...s, authenticated: true, lastSeen: sim.now() });
    return Response.json({ message: "triggered" });
  }
  if (!s.authenticated) {
    await request.arrayBuffer().catch(() => null); // read the body the gateway refuses, as a server does
    return fail(401, "not authenticated");
  }
  await sim.storage.put("ibkr:session", { ...s, lastSeen: sim.now() });

  const placeOrder = /^\/iserver\/account\/([A-Za-z0-9]+)\/orders$/.exec(path);
  if (m === "POST" && placeOrder) {
    if (placeOrder[1] !== SIM_ACCOUNT) return fail(400, `account ${placeOrder[1]} not found`);
    const parsed = parseOrder(await body(request), placeOrder[1]!);
    if (typeof parsed === "string") return fail(400, parsed);
    if (await sim.storage.get(`ibkr:coid:${parsed.cOID}`))
      return fail(400, `Local order ID=${parsed.cOID} is already registered.`);
    const questions = (await sim.storage.get<string[]>("ibkr:questions")) ?? ["o354", "o163"];
    if (questions.length === 0) return place(sim, parsed);
    // The cOID is held by the pending question so a duplicate during the dialogue is refused too.
    const replyId = crypto.randomUUID();
    await sim.storage.put({
      [`ibkr:pending:${replyId}`]: { order: parsed, questions },
      [`ibkr:coid:${parsed.cOID}`]: `pending:${replyId}`,
    });
    return question(replyId, questions[0]!);
  }
  const reply = /^\/iserver\/reply\/([A-Za-z0-9-]+)$/.exec(path);
  if (m === "POST" && reply) {
    const pending = await sim.storage.get<Pending>(`ibkr:pending:${reply[1]}`);
    if (!pending) return fail(400, "reply id not found or expired");
    await sim.storage.delete(`ibkr:pending:${reply[1]}`);
    const b = (await body(request)) as { confirmed?: unknown } | null;
    if (b?.confirmed !== true) {
      await sim.storage.delete(`ibkr:coid:${pending.order.cOID}`);
      return Response.json([{ order_status: "Cancelled", message: "order not confirmed" }]);
    }
    const rest = pending.questions.slice(1);
    if (rest.length === 0) return place(sim, pending.order);
    const next = crypto.randomUUID();
    await sim.storage.put(`ibkr:pending:${next}`, { order: pending.order, questions: rest });
    return question(next, rest[0]!);
  }
  const cancel = /^\/iserver\/account\/([A-Za-z0-9]+)\/order\/(\d+)$/.exec(path);
  if (m === "DELETE" && cancel) {
    const order = await sim.storage.get<IbkrOrder>(`ibkr:order:${cancel[2]}`);
    if (!order || order.acct !== cancel[1]) return fail(404, "order not found");
    if (order.status === "Submitted")
      await sim.storage.put(`ibkr:order:${order.orderId}`, { ...order, status: "Cancelled" });
    return Response.json({
      msg: "Request was submitted",
      order_id: order.orderId,
      conid: order.conid,
      account: order.acct,
    });
  }
  if (m !== "GET") return null;
  if (path === "/iserver/account/orders") {
    const orders = [...(await sim.storage.list<IbkrOrder>({ prefix: "ibkr:order:" })).values()].map((o) => ({
      acct: o.acct,
      conid: o.conid,
      orderId: Number(o.orderId),
      order_ref: o.cOID,
      side: o.side,
      orderType: o.orderType,
      price: String(o.price),
      status: o.status,
      filledQuantity: o.filledQuantity,
      remainingQuantity: o.quantity - o.filledQuantity,
      totalSize: o.quantity,
      timeInForce: o.tif,
    }));
    return Response.json({ orders, snapshot: true });
  }
  if (path === "/portfolio/accounts")
    return Response.json([{ id: SIM_ACCOUNT, accountId: SIM_ACCOUNT, type: "INDIVIDUAL", currency: "USD" }]);
  const positions = /^\/portfolio\/([A-Za-z0-9]+)\/positions\/(\d+)$/.exec(path);
  if (positions) {
    if (positions[1] !== SIM_ACCOUNT) return fail(400, "account not found");
    if (positions[2] !== "0") return Response.json([]);
    const rows = await sim.storage.list<number>({ prefix: "ibkr:pos:" });
    return Response.json(
      [...rows.entries()]
        .filter(([, p]) => p !== 0)
        .map(([k, p]) => {
          const conid = Number(k.slice("ibkr:pos:".length));
          return {
            acctId: SIM_ACCOUNT,
            conid,
            contractDesc: `SIM ${conid}`,
            position: p,
            mktPrice: 100,
            mktValue: p * 100,
            currency: "USD",
            avgCost: 100,
            unrealizedPnl: 0,
            realizedPnl: 0,
            assetClass: "STK",
          };
        }),
    );
  }
  return null;
};
