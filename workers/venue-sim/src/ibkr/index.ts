import type { SimContext, SimHandler } from "../context";
import { handleKalshiSimAdmin } from "../kalshi/trading";
import { handleIbkrSimAdmin } from "./admin";
import { marketDataSnapshot } from "./marketdata";
import { type Pending, parseOrder, placeConfirmed } from "./orders";
import { fail, liveOrderRow, positionRow, tradeRow } from "./rows";
import {
  type Behaviour,
  behaviour,
  lapse,
  loadSession,
  orders,
  POSITIONS_PAGE_SIZE,
  type Session,
  SIM_ACCOUNT,
  SIM_ACCOUNTS,
  type SimExecution,
  type SimOrder,
  type SimStatus,
  saveSession,
  withOptionalGaps,
} from "./state";

export { IDLE_MS, POSITIONS_PAGE_SIZE, SIM_ACCOUNT, SIM_OTHER_ACCOUNT } from "./state";

/**
 * IBKR Client Portal Web API double under /v1/api, written from IBKR's own description (Swagger 2.0, vendored in
 * packages/venue-models/official). Every body it serves follows the schema the spec gives that path and status,
 * with no field the spec does not name (the conformance suite checks it); a status the spec does not document
 * answers the spec's `system-error` shape `{ error }`. What it reproduces:
 * - the session: idle expiry, an asynchronous `/iserver/reauthenticate` (auth status answers false for a few
 *   polls first), a competing session, and an SSO login that has ended (no reauthentication possible);
 * - the calls the spec says must come first: `/iserver/accounts` before live orders and cancels, and
 *   `/portfolio/accounts` before positions, per brokerage session;
 * - orders: every order is asked a question (`[{ id, message }]`), answered on `/iserver/reply/{replyid}`:
 *   `confirmed: true` places it (`[{ order_id, order_status, local_order_id }]`), `confirmed: false` is the
 *   spec's 400 `{ error, statusCode }`; fills come as executions on `/iserver/account/trades` (average price
 *   and commission), for the currently selected account only;
 * - positions paged 30 at a time from the portfolio's cache (`/portfolio/{accountId}/positions/invalidate`
 *   refreshes it); optional fields absent from some rows.
 * The gateway's host is per deployment, so this answers any host.
 *
 * Dev/test admin (not IBKR's): `POST /__sim/ibkr/reset {}` (healthy session, default behaviour),
 * `POST /__sim/ibkr/session { authenticated?, loggedOut?, competing?, idleMs?,
 * reauthPolls? }`, `POST /__sim/ibkr/behaviour { questions?: ids, fill?, tradesHidden?, sparse?, access? }`,
 * `POST /__sim/ibkr/questions { messageIds }`, `POST /__sim/ibkr/accounts { selected }`,
 * `POST /__sim/ibkr/limits { capacity, refillPerSecond }`, `POST /__sim/ibkr/positions { conid, delta } |
 * { positions: [{ conid, position }] }`, `GET /__sim/ibkr/orders`. `/__sim/kalshi/*` is forwarded to Kalshi's
 * admin for hosts that are not Kalshi's.
 */

const API = "/v1/api";

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

function authStatus(s: Session) {
  return {
    authenticated: s.authenticated,
    connected: s.connected,
    competing: s.competing,
    ...(s.ssoValid ? {} : { fail: "The SSO session has ended: log in at the gateway again." }),
    message: s.reauthPending !== undefined ? "reauthenticating" : "",
  };
}

/**
 * The portfolio's backend cache (the spec's "Invalidates the backend cache of the Portfolio"): positions are
 * served from a picture taken at the first read after an invalidation, kept for a minute, so trades since then
 * do not show until the cache is invalidated, and the pages of one walk agree with each other.
 */
const POSITION_CACHE = "ibkr:poscache";
const POSITION_CACHE_MS = 60_000;

async function cachedPositions(sim: SimContext): Promise<{ conid: number; position: number }[]> {
  const cache = await sim.storage.get<{ at: number; rows: { conid: number; position: number }[] }>(
    POSITION_CACHE,
  );
  if (cache && sim.now() - cache.at < POSITION_CACHE_MS) return cache.rows;
  const rows = [...(await sim.storage.list<number>({ prefix: "ibkr:pos:" })).entries()]
    .map(([k, p]) => ({ conid: Number(k.slice("ibkr:pos:".length)), position: p }))
    .filter((r) => r.position !== 0)
    .sort((a, z) => a.conid - z.conid);
  await sim.storage.put(POSITION_CACHE, { at: sim.now(), rows });
  return rows;
}

/**
 * Cloudflare Access in front of the gateway's hostname (as docs/venues.md deploys it), when configured: a
 * request without the service token is redirected to the team's login page, a wrong one is forbidden. These
 * answers are Access's, not the gateway's.
 */
function accessRefusal(request: Request, url: URL, b: Behaviour): Response | null {
  if (!b.access) return null;
  const id = request.headers.get("CF-Access-Client-Id");
  const secret = request.headers.get("CF-Access-Client-Secret");
  if (id === null || secret === null)
    return new Response(null, {
      status: 302,
      headers: { location: `https://paulp.cloudflareaccess.com/cdn-cgi/access/login/${url.host}` },
    });
  if (id !== b.access.clientId || secret !== b.access.clientSecret)
    return new Response("Forbidden", { status: 403, headers: { "content-type": "text/html" } });
  return null;
}

// ---- the gateway ----

export const handleIbkr: SimHandler = async (request, url, sim) => {
  if (url.pathname.startsWith("/__sim/ibkr/")) return handleIbkrSimAdmin(request, url, sim);
  if (url.pathname.startsWith("/__sim/kalshi/")) return handleKalshiSimAdmin(request, url, sim);
  if (!url.pathname.startsWith(`${API}/`)) return null;
  // The body is read before any answer, as a server does, whatever the answer turns out to be.
  const text = await request.text().catch(() => "");
  const json = (): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  };
  const b = await behaviour(sim);
  const refused = accessRefusal(request, url, b);
  if (refused) return refused;
  if (!(await pacing(sim))) return fail(429, "Too many requests");
  const path = url.pathname.slice(API.length);
  const m = request.method;
  const s = await loadSession(sim);

  if (m === "POST" && path === "/iserver/auth/status") {
    if (s.reauthPending !== undefined && s.reauthPending !== null) {
      if (s.reauthPending > 0) s.reauthPending -= 1;
      else {
        s.authenticated = true;
        s.reauthPending = undefined;
      }
    }
    if (s.authenticated) s.lastSeen = sim.now();
    await saveSession(sim, s);
    return Response.json(authStatus(s));
  }
  if (m === "POST" && path === "/tickle") {
    if (s.authenticated) s.lastSeen = sim.now();
    await saveSession(sim, s);
    return Response.json({}); // the spec documents no body for /tickle
  }
  if (m === "POST" && path === "/iserver/reauthenticate") {
    if (!s.ssoValid) return fail(401, "no valid SSO session: log in at the gateway");
    if (!s.authenticated) {
      lapse(s);
      s.reauthPending = s.reauthPolls;
      s.competing = false;
    }
    s.lastSeen = sim.now();
    await saveSession(sim, s);
    return Response.json({ message: "triggered" });
  }
  if (!s.authenticated) return fail(401, "not authenticated");
  s.lastSeen = sim.now();

  if (m === "GET" && path === "/iserver/accounts") {
    s.iserverAccounts = true;
    await saveSession(sim, s);
    return Response.json({
      accounts: [...SIM_ACCOUNTS],
      aliases: Object.fromEntries(SIM_ACCOUNTS.map((a) => [a, a === SIM_ACCOUNT ? "Paul P hedges" : a])),
      selectedAccount: s.selectedAccount,
    });
  }
  if (m === "POST" && path === "/iserver/account") {
    const acct = (json() as { acctId?: unknown } | null)?.acctId;
    if (!SIM_ACCOUNTS.includes(acct as (typeof SIM_ACCOUNTS)[number]))
      return fail(400, `account ${String(acct)} not found`);
    s.selectedAccount = acct as string;
    await saveSession(sim, s);
    return Response.json({ set: true, acctId: acct });
  }
  if (m === "GET" && path === "/portfolio/accounts") {
    s.portfolioAccounts = true;
    await saveSession(sim, s);
    return Response.json(
      SIM_ACCOUNTS.map((a) =>
        withOptionalGaps(
          {
            id: a,
            accountId: a,
            accountVan: a,
            accountTitle: a === SIM_ACCOUNT ? "Paul P hedges" : "Other",
            accountAlias: a === SIM_ACCOUNT ? "Paul P hedges" : undefined,
            accountStatus: 1_700_000_000_000,
            currency: "USD",
            type: "INDIVIDUAL",
            tradingType: "STKNOPT",
            faclient: false,
            clearingStatus: "O",
            covestor: false,
            desc: `${a} - ${a === SIM_ACCOUNT ? "Paul P hedges" : "Other"}`,
          },
          `acct:${a}`,
          ["id", "accountId"],
          b,
          sim.seed,
        ),
      ),
    );
  }
  await saveSession(sim, s);

  const invalidate = /^\/portfolio\/([A-Za-z0-9]+)\/positions\/invalidate$/.exec(path);
  if (m === "POST" && invalidate) {
    if (!s.portfolioAccounts)
      return fail(400, "portfolio accounts not queried: call /portfolio/accounts first");
    await sim.storage.delete(POSITION_CACHE);
    return Response.json({});
  }

  if (m === "GET" && path === "/iserver/marketdata/snapshot") {
    const answer = marketDataSnapshot(url, s, sim);
    await saveSession(sim, s);
    return answer;
  }

  const placeOrder = /^\/iserver\/account\/([A-Za-z0-9]+)\/orders$/.exec(path);
  if (m === "POST" && placeOrder) {
    if (!SIM_ACCOUNTS.includes(placeOrder[1] as (typeof SIM_ACCOUNTS)[number]))
      return fail(400, `account ${placeOrder[1]} not found`);
    const parsed = parseOrder(json(), placeOrder[1]!);
    if (typeof parsed === "string") return fail(400, parsed);
    if (await sim.storage.get(`ibkr:coid:${parsed.cOID}`))
      return fail(400, `Local order ID=${parsed.cOID} is already registered.`);
    // Every order is asked first; the cOID is held by the pending question so a duplicate is refused too.
    const replyId = crypto.randomUUID();
    await sim.storage.put({
      [`ibkr:pending:${replyId}`]: { order: parsed } satisfies Pending,
      [`ibkr:coid:${parsed.cOID}`]: `pending:${replyId}`,
    });
    return Response.json([{ id: replyId, message: b.questions }]);
  }
  const reply = /^\/iserver\/reply\/([A-Za-z0-9-]+)$/.exec(path);
  if (m === "POST" && reply) {
    const answer = json() as { confirmed?: unknown } | null;
    const pending = await sim.storage.get<Pending>(`ibkr:pending:${reply[1]}`);
    if (!pending)
      return Response.json({ error: "reply id not found or expired", statusCode: 400 }, { status: 400 });
    await sim.storage.delete(`ibkr:pending:${reply[1]}`);
    if (answer?.confirmed !== true) {
      await sim.storage.delete(`ibkr:coid:${pending.order.cOID}`);
      return Response.json({ error: "order not confirmed", statusCode: 400 }, { status: 400 });
    }
    const seq = ((await sim.storage.get<number>("ibkr:seq")) ?? 0) + 1;
    const order: SimOrder = {
      ...pending.order,
      orderId: String(1_000_000 + seq),
      status: "PreSubmitted",
      filled: 0,
      at: sim.now(),
    };
    await sim.storage.put({ "ibkr:seq": seq, [`ibkr:coid:${order.cOID}`]: order.orderId });
    const placed = await placeConfirmed(sim, order, b.fill);
    return Response.json([
      { order_id: placed.orderId, order_status: placed.status, local_order_id: placed.cOID },
    ]);
  }
  const cancel = /^\/iserver\/account\/([A-Za-z0-9]+)\/order\/(\d+)$/.exec(path);
  if (m === "DELETE" && cancel) {
    if (!s.iserverAccounts) return fail(400, "accounts not queried: call /iserver/accounts first");
    const order = await sim.storage.get<SimOrder>(`ibkr:order:${cancel[2]}`);
    if (!order || order.acct !== cancel[1]) return fail(404, "order not found");
    if (!["Filled", "Cancelled", "Inactive"].includes(order.status)) {
      // IBKR answers PendingCancel first; the next live-orders read shows it cancelled.
      await sim.storage.put(`ibkr:order:${order.orderId}`, {
        ...order,
        status: "PendingCancel" satisfies SimStatus,
        at: sim.now(),
      });
    }
    return Response.json({
      order_id: order.orderId,
      msg: "Request was submitted",
      conid: order.conid,
      account: order.acct,
    });
  }
  if (m !== "GET") return null;
  if (path === "/iserver/account/orders") {
    if (!s.iserverAccounts) return fail(400, "accounts not queried: call /iserver/accounts first");
    const all = await orders(sim);
    const settled: SimOrder[] = [];
    for (const o of all) {
      if (o.status !== "PendingCancel") {
        settled.push(o);
        continue;
      }
      const done: SimOrder = { ...o, status: "Cancelled", at: sim.now() };
      await sim.storage.put(`ibkr:order:${o.orderId}`, done);
      settled.push(o); // this read still shows PendingCancel, as the gateway does
    }
    const filters = (url.searchParams.get("Filters") ?? "").split(",").filter(Boolean);
    const wanted = (o: SimOrder) =>
      filters.length === 0 ||
      filters.some((f) => f.replace(/_/g, "").toLowerCase() === o.status.toLowerCase());
    return Response.json({
      orders: settled.filter(wanted).map((o) => liveOrderRow(o, b, sim.seed)),
      snapshot: true,
    });
  }
  if (path === "/iserver/account/trades") {
    if (b.tradesHidden) return Response.json([]);
    const rows = [...(await sim.storage.list<SimExecution>({ prefix: "ibkr:exec:" })).values()]
      .filter((x) => x.acct === s.selectedAccount)
      .map((x) => tradeRow(x, b, sim.seed));
    return Response.json(rows);
  }
  const positions = /^\/portfolio\/([A-Za-z0-9]+)\/positions\/(\d+)$/.exec(path);
  if (positions) {
    if (!s.portfolioAccounts)
      return fail(400, "portfolio accounts not queried: call /portfolio/accounts first");
    if (!SIM_ACCOUNTS.includes(positions[1] as (typeof SIM_ACCOUNTS)[number]))
      return fail(400, "account not found");
    if (positions[1] !== SIM_ACCOUNT) return Response.json([]);
    const page = Number(positions[2]);
    const rows = (await cachedPositions(sim)).slice(
      page * POSITIONS_PAGE_SIZE,
      (page + 1) * POSITIONS_PAGE_SIZE,
    );
    return Response.json(rows.map((r) => positionRow(SIM_ACCOUNT, r.conid, r.position, b, sim.seed)));
  }
  return null;
};
