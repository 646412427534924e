// Conformance of execution's IBKR client to IBKR's own description (packages/venue-models/official):
// - every request it sends (path, method, query, body, content type) is one the spec documents, in the order
//   the spec asks for (`/iserver/accounts` before live orders and cancels, `/portfolio/accounts` before
//   positions), with the Cloudflare Access service token on each;
// - it parses only fields the spec names, and the spec's own fixtures (every field, and every optional field
//   absent) never make it guess: an answer missing what it needs fails closed;
// - the fixes the spec forced: paging, fills at their average price with their commission, an asynchronous
//   and bounded reauthentication.
import { env } from "cloudflare:workers";
import { createEgressFetch, MoneyError } from "@paulp/kit";
import {
  checkIbkrRequest,
  checkIbkrResponse,
  ibkrOperation,
  ibkrResponseSchema,
  ibkrSpecAsPublished,
  type RecordedRequest,
  sample,
  specHasField,
} from "@paulp/venue-models";
import fc from "fast-check";
import * as v from "valibot";
import { afterEach, describe, expect, it } from "vitest";
import {
  createIbkrClient,
  fillOf,
  IBKR_ANSWERS,
  type IbkrClientOptions,
  parseConfirmable,
  REAUTH_DEFAULTS,
} from "../src/venues/ibkr";
import { simAdmin as helperSimAdmin } from "./helpers";

const ACCT = "DU1234567";
const GW_HOST = "https://ibkr-gw.test";
const ACCESS = { clientId: "conf-access-id.access", clientSecret: "conf-access-secret" };
const MARKET_DATA_Q =
  "You are submitting an order without market data. We strongly recommend against this as it may result in suboptimal executions. Are you sure you want to submit this order?";

// ---- recording ----

function record(into: RecordedRequest[], inner: IbkrClientOptions["fetch"]): IbkrClientOptions["fetch"] {
  return async (input, init) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    into.push({
      method: init?.method ?? "GET",
      url: String(input),
      headers,
      body: typeof init?.body === "string" ? init.body : null,
    });
    return inner(input, init);
  };
}

const templateOf = (r: RecordedRequest) => ibkrOperation(r.method, r.url)?.template ?? `? ${r.url}`;
const names = (rs: RecordedRequest[]) => rs.map((r) => `${r.method} ${templateOf(r)}`);

/** A client against the real simulator, recording what it sends. */
function simClient(sent: RecordedRequest[], over: Partial<IbkrClientOptions> = {}) {
  return createIbkrClient({
    gatewayUrl: GW_HOST,
    accountId: ACCT,
    fetch: record(sent, createEgressFetch({ simulator: env.VENUE_SIM, extraHosts: ["ibkr-gw.test"] })),
    access: ACCESS,
    sleep: async () => {},
    ...over,
  });
}

const simAdmin = async (path: string, body: unknown) => {
  const res = await helperSimAdmin("ibkr", path, body);
  if (res.status >= 300) throw new Error(`sim admin ${path}: ${res.status}`);
};
afterEach(() => simAdmin("reset", {}));

const uid = (tag: string) =>
  `conf-${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

// ---- a gateway made of the spec's own fixtures ----

type Answer = { status: number; body: unknown };
type Route = Answer | ((req: RecordedRequest, n: number) => Answer);
const ok = (body: unknown): Answer => ({ status: 200, body });

/** Spec-conformant answers of a healthy session with one filled order (checked against the spec below). */
function healthyRoutes(coid: string): Record<string, Route> {
  return {
    "POST /tickle": ok({}),
    "POST /iserver/auth/status": ok({ authenticated: true, connected: true, competing: false }),
    "POST /iserver/reauthenticate": ok({ message: "triggered" }),
    "GET /iserver/accounts": ok({ accounts: [ACCT], selectedAccount: ACCT }),
    "POST /iserver/account": ok({ set: true, acctId: ACCT }),
    "GET /portfolio/accounts": ok([{ id: ACCT, accountId: ACCT }]),
    "POST /portfolio/{accountId}/positions/invalidate": ok({}),
    "GET /portfolio/{accountId}/positions/{pageId}": (req) =>
      ok(req.url.endsWith("/positions/0") ? [{ acctId: ACCT, conid: 265598, position: 7 }] : []),
    "POST /iserver/account/{accountId}/orders": ok([{ id: "q-1", message: [MARKET_DATA_Q] }]),
    "POST /iserver/reply/{replyid}": ok([
      { order_id: "1000077", order_status: "Submitted", local_order_id: coid },
    ]),
    "GET /iserver/account/orders": ok({
      orders: [{ acct: ACCT, orderId: "1000077", order_ref: coid, status: "Filled", filledQuantity: 5 }],
    }),
    "GET /iserver/account/trades": ok([
      { execution_id: "e1", order_ref: coid, account: ACCT, size: "3", price: "101.49", commission: 1 },
      { execution_id: "e2", order_ref: coid, account: ACCT, size: "2", price: "101.48", commission: 0.01 },
    ]),
    "DELETE /iserver/account/{accountId}/order/{orderId}": ok({
      order_id: "1000077",
      msg: "Request was submitted",
      conid: 265598,
      account: ACCT,
    }),
  };
}

function fakeGateway(
  routes: Record<string, Route>,
  sent: RecordedRequest[],
  over: Partial<IbkrClientOptions> = {},
) {
  const counts = new Map<string, number>();
  const fetch: IbkrClientOptions["fetch"] = async (input, init) => {
    const req = sent.at(-1)!;
    const key = `${req.method} ${templateOf(req)}`;
    const n = counts.get(key) ?? 0;
    counts.set(key, n + 1);
    const route = routes[key];
    const a = typeof route === "function" ? route(req, n) : route;
    void input;
    void init;
    if (!a) return Response.json({ error: `no route ${key}` }, { status: 404 });
    return Response.json(a.body, { status: a.status });
  };
  return createIbkrClient({
    gatewayUrl: GW_HOST,
    accountId: ACCT,
    fetch: record(sent, fetch),
    access: ACCESS,
    sleep: async () => {},
    ...over,
  });
}

const order = (cOID: string, quantity = 5) => ({
  conid: 265598,
  side: "buy" as const,
  quantity,
  price: "101.5000",
  cOID,
});

/** Each request is one the spec documents, and every one carries the Access service token. */
function expectConforming(sent: RecordedRequest[]) {
  expect(sent.length).toBeGreaterThan(0);
  for (const r of sent) {
    expect(checkIbkrRequest(r).problems, `${r.method} ${r.url}`).toEqual([]);
    expect(r.headers["cf-access-client-id"], `${r.method} ${r.url}`).toBe(ACCESS.clientId);
    expect(r.headers["cf-access-client-secret"], `${r.method} ${r.url}`).toBe(ACCESS.clientSecret);
  }
}

/** Each call the spec says needs a prerequisite comes after it, within the same brokerage session. */
function expectPrerequisites(sent: RecordedRequest[]) {
  const needs: Record<string, string> = {
    "GET /iserver/account/orders": "GET /iserver/accounts",
    "DELETE /iserver/account/{accountId}/order/{orderId}": "GET /iserver/accounts",
    "GET /portfolio/{accountId}/positions/{pageId}": "GET /portfolio/accounts",
    "POST /portfolio/{accountId}/positions/invalidate": "GET /portfolio/accounts",
    "GET /iserver/marketdata/snapshot": "GET /iserver/accounts",
  };
  const list = names(sent);
  list.forEach((name, i) => {
    const need = needs[name];
    if (!need) return;
    const since = list.slice(0, i);
    const lastReauth = since.lastIndexOf("POST /iserver/reauthenticate");
    expect(since.lastIndexOf(need), `${name} at ${i} needs ${need} first`).toBeGreaterThan(lastReauth);
  });
}

describe("requests the client sends, against the real simulator", () => {
  it("places an order: accounts first, a documented body, a confirmed question", async () => {
    const sent: RecordedRequest[] = [];
    const coid = uid("place");
    const placed = await simClient(sent).placeOrder(order(coid));
    expect(placed.ok).toBe(true);
    expectConforming(sent);
    expect(names(sent)).toEqual([
      "GET /iserver/accounts",
      "POST /iserver/account/{accountId}/orders",
      "POST /iserver/reply/{replyid}",
    ]);
    expect(JSON.parse(sent[1]!.body!)).toEqual({
      orders: [
        {
          acctId: ACCT,
          conid: 265598,
          side: "BUY",
          orderType: "LMT",
          price: 101.5,
          quantity: 5,
          tif: "DAY",
          cOID: coid,
        },
      ],
    });
    expect(JSON.parse(sent[2]!.body!)).toEqual({ confirmed: true });
  });

  it("refuses a question off the allowlist with confirmed: false (the spec's 400), placing nothing", async () => {
    await simAdmin("behaviour", { questions: ["o354", "o383"] });
    const sent: RecordedRequest[] = [];
    const seen: { message: string[]; confirmed: boolean }[] = [];
    const r = await simClient(sent, {
      onQuestion: async (q) => {
        seen.push(q);
        return true;
      },
    }).placeOrder(order(uid("no")));
    expect(!r.ok && r.error.kind).toBe("question_refused");
    expect(seen).toEqual([
      {
        message: [expect.stringMatching(/market data/), expect.stringMatching(/Size Limit/)],
        confirmed: false,
      },
    ]);
    expectConforming(sent);
    expect(JSON.parse(sent.at(-1)!.body!)).toEqual({ confirmed: false });
  });

  it("looks an order up: accounts, live orders, the account selected, trades once", async () => {
    const coid = uid("look");
    expect((await simClient([]).placeOrder(order(coid))).ok).toBe(true);
    await simAdmin("accounts", { selected: "DU7654321" });
    const sent: RecordedRequest[] = [];
    const c = simClient(sent);
    const found = await c.lookup(coid);
    expect(found.ok && found.value?.fills.quantity).toBe(5);
    // The same client (a sweep) reads the picture once, whatever it looks up next.
    await c.lookup(uid("absent"));
    expectConforming(sent);
    expectPrerequisites(sent);
    expect(names(sent)).toEqual([
      "GET /iserver/accounts",
      "GET /iserver/account/orders",
      "POST /iserver/account",
      "GET /iserver/account/trades",
    ]);
    expect(JSON.parse(sent[2]!.body!)).toEqual({ acctId: ACCT });
  });

  it("cancels after /iserver/accounts", async () => {
    await simAdmin("behaviour", { fill: "rest" });
    const coid = uid("cancel");
    const placed = await simClient([]).placeOrder(order(coid));
    if (!placed.ok) throw new Error(placed.error.message);
    const sent: RecordedRequest[] = [];
    expect((await simClient(sent).cancelOrder(placed.value.orderId)).ok).toBe(true);
    expectConforming(sent);
    expectPrerequisites(sent);
  });

  it("reads positions: portfolio accounts, the cache invalidated, every page until an empty one", async () => {
    const conids = Array.from({ length: 65 }, (_, i) => 700_000 + i);
    await simAdmin("positions", { positions: conids.map((conid) => ({ conid, position: 3 })) });
    try {
      const sent: RecordedRequest[] = [];
      const r = await simClient(sent).positions();
      if (!r.ok) throw new Error(r.error.message);
      const mine = r.value.filter((p) => conids.includes(Number(p.market)));
      expect(mine).toHaveLength(65);
      expectConforming(sent);
      expectPrerequisites(sent);
      const pages = sent.filter((s) => templateOf(s) === "/portfolio/{accountId}/positions/{pageId}");
      expect(pages.length).toBeGreaterThanOrEqual(4); // 65+ rows at 30 a page, then the empty page
      expect(pages.map((p) => new URL(p.url).pathname.split("/").at(-1))).toEqual(
        pages.map((_, i) => String(i)),
      );
    } finally {
      await simAdmin("positions", { positions: conids.map((conid) => ({ conid, position: 0 })) });
    }
  });

  it("reads a market-data snapshot after /iserver/accounts and hands its bytes on unparsed", async () => {
    const sent: RecordedRequest[] = [];
    const client = simClient(sent);
    const first = await client.marketDataSnapshot([265598], ["31", "84", "86"]);
    const second = await client.marketDataSnapshot([265598], ["31", "84", "86"]);
    if (!first.ok || !second.ok) throw new Error("snapshot failed");
    expectConforming(sent);
    expectPrerequisites(sent);
    expect(names(sent).filter((n) => n === "GET /iserver/accounts")).toHaveLength(1);
    expect(second.value).toMatchObject({
      status: 200,
      url: `${GW_HOST}/v1/api/iserver/marketdata/snapshot?conids=265598&fields=31,84,86`,
    });
    const rows = JSON.parse(new TextDecoder().decode(second.value.bytes)) as Record<string, unknown>[];
    expect(checkIbkrResponse("GET", second.value.url, 200, rows)).toEqual([]);
    expect(rows[0]).toMatchObject({ conid: 265598, "84": expect.any(String), "86": expect.any(String) });
  });

  it("hands on a snapshot the gateway refused, with its status and bytes (ingestion keeps them as evidence)", async () => {
    const sent: RecordedRequest[] = [];
    const client = simClient(sent);
    const first = await client.marketDataSnapshot([265598], ["31", "84", "86"]);
    expect(first.ok && first.value.status).toBe(200);
    await simAdmin("limits", { capacity: 0, refillPerSecond: 0 });
    const refused = await client.marketDataSnapshot([265598], ["31", "84", "86"]);
    if (!refused.ok) throw new Error(`a refused snapshot should be handed on: ${refused.error.message}`);
    expect(refused.value.status).toBe(429);
    expect(refused.value.bytes.byteLength).toBeGreaterThan(0);
    expect(refused.value.url).toBe(
      `${GW_HOST}/v1/api/iserver/marketdata/snapshot?conids=265598&fields=31,84,86`,
    );
    // Other calls still read a refusal as a failure.
    const positions = await client.positions();
    expect(positions.ok).toBe(false);
  });

  it("brings a lapsed session back: reauthenticate, poll the status, then the call again from its start", async () => {
    await simAdmin("session", { authenticated: false, reauthPolls: 2 });
    const sent: RecordedRequest[] = [];
    const r = await simClient(sent).positions();
    expect(r.ok).toBe(true);
    expectConforming(sent);
    expectPrerequisites(sent);
    const list = names(sent);
    const re = list.indexOf("POST /iserver/reauthenticate");
    expect(re).toBeGreaterThan(0);
    expect(list.slice(re + 1, re + 4)).toEqual(Array(3).fill("POST /iserver/auth/status"));
    expect(list[re + 4]).toBe("GET /portfolio/accounts");
  });
});

describe("the keep-alive, against the real simulator", () => {
  it("tickles, reads the status, and reauthenticates a lapsed session, all as the spec documents", async () => {
    await simAdmin("session", { authenticated: false, reauthPolls: 0 });
    const sent: RecordedRequest[] = [];
    expect(await simClient(sent).keepAlive()).toEqual({
      ok: true,
      value: { authenticated: true, reauthenticated: true },
    });
    expectConforming(sent);
    expect(names(sent)).toEqual([
      "POST /tickle",
      "POST /iserver/auth/status",
      "POST /iserver/reauthenticate",
      "POST /iserver/auth/status",
    ]);
  });
});

describe("what the client reads is what the spec names", () => {
  /** Field paths a valibot schema reads (`[]` for array items). */
  function fieldPaths(schema: unknown, prefix: string[] = []): string[][] {
    const s = schema as {
      type: string;
      entries?: Record<string, unknown>;
      item?: unknown;
      wrapped?: unknown;
      options?: unknown[];
    };
    if (s.type === "optional" || s.type === "nullable" || s.type === "nullish")
      return fieldPaths(s.wrapped, prefix);
    if (s.type === "array") return fieldPaths(s.item, [...prefix, "[]"]);
    if (s.type === "union") return (s.options ?? []).flatMap((o) => fieldPaths(o, prefix));
    if (s.type === "object")
      return Object.entries(s.entries ?? {}).flatMap(([k, sub]) => [
        [...prefix, k],
        ...fieldPaths(sub, [...prefix, k]),
      ]);
    return [];
  }
  /** The order dialogue: either endpoint may answer either documented element (see OrderAnswer). */
  const DIALOGUE = ["/iserver/account/{accountId}/orders", "/iserver/reply/{replyid}"];

  it.each(IBKR_ANSWERS.map((a) => [`${a.method} ${a.template}`, a] as const))("%s", (_name, a) => {
    const specs = (DIALOGUE.includes(a.template) ? DIALOGUE : [a.template]).map((t) =>
      ibkrResponseSchema(DIALOGUE.includes(t) ? "POST" : a.method, t),
    );
    const paths = fieldPaths(a.schema);
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths)
      expect(
        specs.some((s) => specHasField(ibkrSpecAsPublished, s, p)),
        `${a.template} reads ${p.join(".")}, which the spec does not name`,
      ).toBe(true);
    // The spec's own fixtures parse: every field present, and every optional field absent.
    for (const s of specs) {
      expect(
        v.safeParse(a.schema, sample(ibkrSpecAsPublished, s, "full")).success,
        `${a.template} full`,
      ).toBe(true);
      expect(
        v.safeParse(a.schema, sample(ibkrSpecAsPublished, s, "minimal")).success,
        `${a.template} minimal`,
      ).toBe(true);
    }
  });

  it("the fake gateway's answers below conform to the spec themselves", () => {
    for (const [key, route] of Object.entries(healthyRoutes("c-1"))) {
      const [method, template] = key.split(" ") as [string, string];
      const url = `${GW_HOST}/v1/api${template.replace("{accountId}", ACCT).replace("{pageId}", "0").replace("{replyid}", "r").replace("{orderId}", "1")}`;
      const a = typeof route === "function" ? route({ method, url, headers: {}, body: null }, 0) : route;
      expect(checkIbkrResponse(method, url, a.status, a.body), key).toEqual([]);
    }
  });
});

describe("every optional field absent: the client never guesses", () => {
  const minimal = (method: string, template: string) =>
    ok(sample(ibkrSpecAsPublished, ibkrResponseSchema(method, template), "minimal"));

  it("an auth status without `authenticated` is not authenticated: reauthentication is tried, bounded, and fails", async () => {
    const sent: RecordedRequest[] = [];
    const c = fakeGateway(
      { ...healthyRoutes("x"), "POST /iserver/auth/status": minimal("POST", "/iserver/auth/status") },
      sent,
    );
    const r = await c.keepAlive();
    expect(!r.ok && r.error.kind).toBe("auth");
    expect(names(sent).filter((n) => n === "POST /iserver/auth/status")).toHaveLength(
      1 + REAUTH_DEFAULTS.polls,
    );
  });

  it("accounts without `accounts`: nothing is placed", async () => {
    const sent: RecordedRequest[] = [];
    const c = fakeGateway(
      { ...healthyRoutes("x"), "GET /iserver/accounts": minimal("GET", "/iserver/accounts") },
      sent,
    );
    const r = await c.placeOrder(order("c-acc"));
    expect(!r.ok && r.error.kind).toBe("auth");
    expect(names(sent)).toEqual(["GET /iserver/accounts"]);
  });

  it("portfolio accounts without ids: no position is read", async () => {
    const sent: RecordedRequest[] = [];
    const c = fakeGateway(
      { ...healthyRoutes("x"), "GET /portfolio/accounts": minimal("GET", "/portfolio/accounts") },
      sent,
    );
    expect(await c.positions()).toMatchObject({ ok: false, error: { kind: "auth" } });
    expect(names(sent)).toEqual(["GET /portfolio/accounts"]);
  });

  it("an order answer with neither question nor order id leaves the outcome unknown (looked up, never re-sent)", async () => {
    for (const template of ["/iserver/account/{accountId}/orders", "/iserver/reply/{replyid}"]) {
      const c = fakeGateway({ ...healthyRoutes("x"), [`POST ${template}`]: minimal("POST", template) }, []);
      expect(await c.placeOrder(order("c-unk"))).toMatchObject({
        ok: false,
        error: { kind: "outcome_unknown" },
      });
    }
  });

  it("a question without a message is refused", async () => {
    const sent: RecordedRequest[] = [];
    const c = fakeGateway(
      { ...healthyRoutes("x"), "POST /iserver/account/{accountId}/orders": ok([{ id: "q-2" }]) },
      sent,
    );
    expect(await c.placeOrder(order("c-nomsg"))).toMatchObject({
      ok: false,
      error: { kind: "question_refused" },
    });
    expect(JSON.parse(sent.at(-1)!.body!)).toEqual({ confirmed: false });
  });

  it("live orders and trades without fields: the order is not found", async () => {
    const c = fakeGateway(
      {
        ...healthyRoutes("c-x"),
        "GET /iserver/account/orders": minimal("GET", "/iserver/account/orders"),
        "GET /iserver/account/trades": minimal("GET", "/iserver/account/trades"),
      },
      [],
    );
    expect(await c.lookup("c-x")).toEqual({ ok: true, value: null });
  });

  it("a position row without conid or position fails the read (never a half-read account)", async () => {
    for (const row of [{}, { conid: 1 }, { position: 2 }]) {
      const c = fakeGateway(
        { ...healthyRoutes("x"), "GET /portfolio/{accountId}/positions/{pageId}": ok([row]) },
        [],
      );
      expect(await c.positions()).toMatchObject({ ok: false, error: { kind: "invalid_response" } });
    }
  });

  it("executions without size or price are unpriced; without commission the fee is unknown, not zero", () => {
    expect(fillOf([{ order_ref: "a" }])).toEqual({ quantity: 0, avgPrice: null, fee: null, unpriced: 1 });
    expect(
      fillOf([
        { size: "2", price: "10.50" },
        { size: "2", price: "10.00", commission: 1 },
      ]),
    ).toEqual({
      quantity: 4,
      avgPrice: "10.2500",
      fee: null,
      unpriced: 0,
    });
    expect(
      fillOf([
        { size: "3", price: "101.49", commission: 1 },
        { size: "2", price: 101.48, commission: "0.01" },
        { size: "1.5", price: "100" },
      ]),
    ).toEqual({ quantity: 5, avgPrice: "101.4860", fee: "1.0100", unpriced: 1 });
    // A summed fee past what our 4-decimal form holds exactly is refused, never written as a string none can read.
    const huge = Array.from({ length: 101 }, () => ({ size: "1", price: "1", commission: "9000000000" }));
    expect(() => fillOf(huge)).toThrow(MoneyError);
  });

  it("the average price is the exact average to the nearest 0.0001 $ (ties up); the fee is rounded up", () => {
    // Oracle by definition, in integers: with the average `bp` (1e-4 $), q shares and the exact cost in micros,
    // q·bp·100 − cost lies in (−50q, 50q]; the fee in 1e-4 $ is the least whole number at or above the sum.
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            size: fc.integer({ min: 1, max: 5_000 }),
            micros: fc.integer({ min: 1, max: 10 ** 9 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.integer({ min: 0, max: 10 ** 7 }),
        (rows, commissionMicros) => {
          const text = (m: number) => `${Math.floor(m / 1e6)}.${String(m % 1e6).padStart(6, "0")}`;
          const fill = fillOf(
            rows.map((r, i) => ({
              size: String(r.size),
              price: text(r.micros),
              commission: i === 0 ? text(commissionMicros) : "0",
            })),
          );
          const q = BigInt(rows.reduce((n, r) => n + r.size, 0));
          const cost = rows.reduce((n, r) => n + BigInt(r.size) * BigInt(r.micros), 0n);
          const bp = BigInt(fill.avgPrice!.replace(".", ""));
          const off = q * bp * 100n - cost;
          expect(off > -50n * q && off <= 50n * q).toBe(true);
          const fee = BigInt(fill.fee!.replace(".", ""));
          expect(fee * 100n >= BigInt(commissionMicros) && (fee - 1n) * 100n < BigInt(commissionMicros)).toBe(
            true,
          );
        },
      ),
    );
  });
});

describe("fills, reauthentication and the Access token (client)", () => {
  it("reports the executions' average price and summed commission, not the limit", async () => {
    const c = fakeGateway(healthyRoutes("c-fill"), []);
    const r = await c.lookup("c-fill");
    expect(r).toEqual({
      ok: true,
      value: {
        orderId: "1000077",
        status: "Filled",
        venueFilled: 5,
        fills: { quantity: 5, avgPrice: "101.4860", fee: "1.0100" },
        unpriced: 0,
      },
    });
  });

  it("a reauthentication that never completes stops at the poll bound and at the time budget", async () => {
    const stuck = (sent: RecordedRequest[], over: Partial<IbkrClientOptions>) =>
      fakeGateway(
        {
          ...healthyRoutes("x"),
          "POST /iserver/auth/status": ok({ authenticated: false, connected: true }),
          "GET /iserver/accounts": { status: 401, body: { error: "not authenticated" } },
        },
        sent,
        over,
      );
    const byPolls: RecordedRequest[] = [];
    const waits: number[] = [];
    const r1 = await stuck(byPolls, { sleep: async (ms) => void waits.push(ms) }).placeOrder(
      order("c-stuck"),
    );
    expect(r1).toMatchObject({ ok: false, error: { kind: "auth" } });
    expect(names(byPolls).filter((n) => n === "POST /iserver/auth/status")).toHaveLength(
      REAUTH_DEFAULTS.polls,
    );
    expect(waits).toEqual(Array(REAUTH_DEFAULTS.polls - 1).fill(REAUTH_DEFAULTS.intervalMs));
    expect(names(byPolls)).not.toContain("POST /iserver/account/{accountId}/orders");
    // A slow clock: the budget ends the polling first.
    let t = 0;
    const byTime: RecordedRequest[] = [];
    const r2 = await stuck(byTime, {
      now: () => t,
      sleep: async (ms) => {
        t += ms * 4;
      },
    }).placeOrder(order("c-slow"));
    expect(r2).toMatchObject({ ok: false, error: { kind: "auth" } });
    const polls = names(byTime).filter((n) => n === "POST /iserver/auth/status").length;
    expect(polls).toBeLessThan(REAUTH_DEFAULTS.polls);
    expect(t).toBeLessThanOrEqual(REAUTH_DEFAULTS.budgetMs + REAUTH_DEFAULTS.intervalMs * 4);
  });

  it("an ended SSO login refuses reauthentication at once (no polling)", async () => {
    await simAdmin("session", { authenticated: false, loggedOut: true });
    const sent: RecordedRequest[] = [];
    const r = await simClient(sent).placeOrder(order(uid("sso")));
    expect(r).toMatchObject({ ok: false, error: { kind: "auth" } });
    expect(names(sent)).toEqual(["GET /iserver/accounts", "POST /iserver/reauthenticate"]);
  });

  it("sends no Access headers when none is configured; half a token is not configured", async () => {
    const sent: RecordedRequest[] = [];
    await fakeGateway(healthyRoutes("x"), sent, { access: {} }).keepAlive();
    expect(
      sent.every((r) => !("cf-access-client-id" in r.headers) && !("cf-access-client-secret" in r.headers)),
    ).toBe(true);
    const half = fakeGateway(healthyRoutes("x"), [], { access: { clientId: "only-id" } });
    expect(await half.keepAlive()).toMatchObject({ ok: false, error: { kind: "not_configured" } });
  });

  it("Access in front of the gateway: the right token passes, a wrong or missing one is auth, never followed", async () => {
    await simAdmin("behaviour", { access: ACCESS });
    expect((await simClient([]).keepAlive()).ok).toBe(true);
    const wrong = await simClient([], {
      access: { clientId: ACCESS.clientId, clientSecret: "wrong" },
    }).keepAlive();
    expect(wrong).toMatchObject({ ok: false, error: { kind: "auth", status: 403 } });
    const none = await simClient([], { access: {} }).keepAlive();
    expect(none).toMatchObject({ ok: false, error: { kind: "auth", status: 302 } });
  });

  it("confirmable phrases: unset is the default, too-short phrases are dropped (nothing is confirmed)", () => {
    expect(parseConfirmable(undefined)).toEqual([
      "without market data",
      "price exceeds the Percentage constraint",
    ]);
    expect(parseConfirmable("a| |short")).toEqual([]);
    expect(parseConfirmable("without market data | size exceeds the Size Limit")).toEqual([
      "without market data",
      "size exceeds the Size Limit",
    ]);
  });
});
