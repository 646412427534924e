// Conformance of the IBKR double to IBKR's own description (packages/venue-models/official): every body it
// serves on /v1/api, in every state the tests can put it in, follows the schema the spec gives that path and
// status, with no field the spec does not name; what the spec says must come first, does.
import { exports } from "cloudflare:workers";
import { checkIbkrRequest, checkIbkrResponse } from "@paulp/venue-models";
import { beforeEach, describe, expect, it } from "vitest";
import { IDLE_MS, POSITIONS_PAGE_SIZE, SIM_ACCOUNT, SIM_OTHER_ACCOUNT } from "../src/ibkr";

const sim = () => (exports as unknown as { default: Fetcher }).default;
const HOST = "https://ibkr-gw.test";
const GW = `${HOST}/v1/api`;

/** Every answer served in this file, for the closing check that each status the tests reached was seen. */
const served: { method: string; path: string; status: number }[] = [];

/** Call the double as the gateway, checking the request we send and the answer it serves against the spec. */
async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" };
  const text = body === undefined ? null : JSON.stringify(body);
  const url = GW + path;
  expect(
    checkIbkrRequest({ method, url, headers, body: text }).problems,
    `request ${method} ${path}`,
  ).toEqual([]);
  const res = await sim().fetch(url, { method, headers, body: text });
  const raw = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${method} ${path} → ${res.status}: not JSON: ${raw.slice(0, 200)}`);
  }
  expect(checkIbkrResponse(method, url, res.status, parsed), `${method} ${path} → ${res.status}`).toEqual([]);
  served.push({ method, path, status: res.status });
  return { status: res.status, body: parsed };
}

const admin = async (path: string, body: unknown) => {
  const res = await sim().fetch(`${HOST}/__sim/ibkr/${path}`, { method: "POST", body: JSON.stringify(body) });
  expect(res.status, `admin ${path}`).toBeLessThan(300);
};

const order = (cOID: string, over: Record<string, unknown> = {}) => ({
  orders: [
    {
      acctId: SIM_ACCOUNT,
      conid: 265598,
      side: "BUY",
      orderType: "LMT",
      price: 101.5,
      quantity: 5,
      tif: "DAY",
      cOID,
      ...over,
    },
  ],
});

/** The spec's statuses (`order.status`), the only ones the double may serve. */
const STATUSES = [
  "PendingSubmit",
  "PendingCancel",
  "PreSubmitted",
  "Submitted",
  "Cancelled",
  "Filled",
  "Inactive",
];

const fresh = () => admin("reset", {});

beforeEach(fresh);

describe("the session", () => {
  it("answers authStatus, keeps alive with an empty tickle, and reauthenticates asynchronously", async () => {
    expect((await call("POST", "/iserver/auth/status")).body).toMatchObject({
      authenticated: true,
      connected: true,
    });
    expect((await call("POST", "/tickle")).body).toEqual({});
    await admin("session", { authenticated: true, idleMs: IDLE_MS + 1_000 });
    expect((await call("POST", "/iserver/auth/status")).body).toMatchObject({ authenticated: false });
    expect((await call("GET", "/iserver/account/orders")).status).toBe(401);
    expect((await call("POST", "/iserver/reauthenticate")).status).toBe(200);
    // Not at once: the first poll still answers false, the next one true.
    expect((await call("POST", "/iserver/auth/status")).body).toMatchObject({ authenticated: false });
    expect((await call("POST", "/iserver/auth/status")).body).toMatchObject({ authenticated: true });
  });

  it("lapses once its clock moves past the idle timeout, and a tickle before then keeps it", async () => {
    const advance = (advanceMs: number) =>
      sim().fetch(`${HOST}/__sim/clock`, { method: "POST", body: JSON.stringify({ advanceMs }) });
    try {
      await admin("session", { authenticated: true, idleMs: 0 });
      expect((await advance(IDLE_MS - 1_000)).status).toBe(200);
      expect((await call("POST", "/tickle")).body).toEqual({});
      await advance(IDLE_MS - 1_000);
      expect((await call("POST", "/iserver/auth/status")).body).toMatchObject({ authenticated: true });
      await advance(IDLE_MS + 1);
      expect((await call("POST", "/iserver/auth/status")).body).toMatchObject({ authenticated: false });
      // Time only moves forward, and only by a whole number of milliseconds.
      expect((await advance(-1)).status).toBe(400);
    } finally {
      const reset = await sim().fetch(`${HOST}/__sim/clock`, { method: "DELETE" });
      expect(await reset.json()).toMatchObject({ offsetMs: 0 });
    }
  });

  it("a reauthentication that never completes stays unauthenticated; an ended SSO login refuses it", async () => {
    await admin("session", { authenticated: false, reauthPolls: null });
    await call("POST", "/iserver/reauthenticate");
    for (let i = 0; i < 5; i++)
      expect((await call("POST", "/iserver/auth/status")).body).toMatchObject({ authenticated: false });
    await admin("session", { authenticated: false, loggedOut: true });
    expect((await call("POST", "/iserver/reauthenticate")).status).toBe(401);
    expect((await call("POST", "/iserver/auth/status")).body).toMatchObject({
      authenticated: false,
      connected: false,
    });
  });

  it("a competing session is reported, and a reauthentication takes the session back", async () => {
    await admin("session", { competing: true });
    expect((await call("POST", "/iserver/auth/status")).body).toMatchObject({
      authenticated: false,
      competing: true,
    });
    await admin("session", { reauthPolls: 0 });
    await call("POST", "/iserver/reauthenticate");
    expect((await call("POST", "/iserver/auth/status")).body).toMatchObject({
      authenticated: true,
      competing: false,
    });
  });
});

describe("what must come first", () => {
  it("live orders and cancels need /iserver/accounts in this brokerage session", async () => {
    await admin("session", { authenticated: false });
    await admin("session", { authenticated: true }); // a new brokerage session: nothing queried yet
    expect((await call("GET", "/iserver/account/orders")).status).toBe(400);
    expect((await call("DELETE", `/iserver/account/${SIM_ACCOUNT}/order/1000001`)).status).toBe(400);
    const accounts = await call("GET", "/iserver/accounts");
    expect(accounts.body).toMatchObject({
      accounts: [SIM_ACCOUNT, SIM_OTHER_ACCOUNT],
      selectedAccount: SIM_ACCOUNT,
    });
    expect((await call("GET", "/iserver/account/orders")).status).toBe(200);
  });

  it("positions need /portfolio/accounts in this brokerage session", async () => {
    await admin("session", { authenticated: false });
    await admin("session", { authenticated: true });
    expect((await call("GET", `/portfolio/${SIM_ACCOUNT}/positions/0`)).status).toBe(400);
    expect((await call("GET", "/portfolio/accounts")).status).toBe(200);
    expect((await call("GET", `/portfolio/${SIM_ACCOUNT}/positions/0`)).status).toBe(200);
  });
});

describe("orders", () => {
  it("asks a question, places the order on confirmed: true, and reports executions with price and commission", async () => {
    await admin("behaviour", { questions: ["o354", "o163"] });
    const q = await call("POST", `/iserver/account/${SIM_ACCOUNT}/orders`, order("conf-1"));
    const [question] = q.body as { id: string; message: string[] }[];
    expect(question!.message).toHaveLength(2);
    const placed = await call("POST", `/iserver/reply/${question!.id}`, { confirmed: true });
    expect(placed.body).toEqual([
      expect.objectContaining({ order_id: expect.stringMatching(/^\d+$/), local_order_id: "conf-1" }),
    ]);
    await call("GET", "/iserver/accounts");
    const live = (await call("GET", "/iserver/account/orders")).body as {
      orders: { order_ref?: string; status: string; filledQuantity: number }[];
    };
    expect(live.orders.find((o) => o.order_ref === "conf-1")).toMatchObject({
      status: "Filled",
      filledQuantity: 5,
    });
    const trades = (await call("GET", "/iserver/account/trades")).body as {
      order_ref: string;
      size: string;
      price: string;
      commission: number;
    }[];
    const mine = trades.filter((t) => t.order_ref === "conf-1");
    expect(mine.reduce((n, t) => n + Number(t.size), 0)).toBe(5);
    expect(mine.every((t) => Number(t.price) <= 101.5 && t.commission > 0)).toBe(true);
    // A reply id is single use: the spec's 400 shape.
    expect((await call("POST", `/iserver/reply/${question!.id}`, { confirmed: true })).status).toBe(400);
  });

  it("confirmed: false is the spec's 400 { error, statusCode } and drops the order", async () => {
    const q = await call("POST", `/iserver/account/${SIM_ACCOUNT}/orders`, order("declined-1"));
    const [question] = q.body as { id: string }[];
    const no = await call("POST", `/iserver/reply/${question!.id}`, { confirmed: false });
    expect(no).toEqual({ status: 400, body: { error: "order not confirmed", statusCode: 400 } });
    await call("GET", "/iserver/accounts");
    const live = (await call("GET", "/iserver/account/orders")).body as { orders: { order_ref?: string }[] };
    expect(live.orders.some((o) => o.order_ref === "declined-1")).toBe(false);
  });

  it("a duplicate cOID, a bare array and an unknown account are refused", async () => {
    const q = await call("POST", `/iserver/account/${SIM_ACCOUNT}/orders`, order("dup-1"));
    await call("POST", `/iserver/reply/${(q.body as { id: string }[])[0]!.id}`, { confirmed: true });
    const dup = await call("POST", `/iserver/account/${SIM_ACCOUNT}/orders`, order("dup-1"));
    expect(dup.status).toBe(400);
    expect((dup.body as { error: string }).error).toMatch(/Local order ID=dup-1 is already registered/);
    const res = await sim().fetch(`${GW}/iserver/account/${SIM_ACCOUNT}/orders`, {
      method: "POST",
      body: JSON.stringify(order("bare-1").orders),
    });
    expect(res.status).toBe(400);
    expect((await call("POST", "/iserver/account/U0000000/orders", order("acct-1"))).status).toBe(400);
  });

  it("serves only the spec's statuses through rest, partial fill, cancel and PendingCancel", async () => {
    const seen = new Set<string>();
    for (const fill of ["rest", "partial", "fill"] as const) {
      await admin("behaviour", { fill });
      const q = await call("POST", `/iserver/account/${SIM_ACCOUNT}/orders`, order(`st-${fill}`));
      await call("POST", `/iserver/reply/${(q.body as { id: string }[])[0]!.id}`, { confirmed: true });
    }
    await call("GET", "/iserver/accounts");
    const read = async () => {
      const live = (await call("GET", "/iserver/account/orders")).body as {
        orders: { orderId: string; order_ref?: string; status: string }[];
      };
      for (const o of live.orders) seen.add(o.status);
      return live.orders;
    };
    const resting = (await read()).find((o) => o.order_ref === "st-rest")!;
    const cancelled = await call("DELETE", `/iserver/account/${SIM_ACCOUNT}/order/${resting.orderId}`);
    expect(cancelled.body).toMatchObject({ order_id: resting.orderId, account: SIM_ACCOUNT });
    expect((await read()).find((o) => o.orderId === resting.orderId)?.status).toBe("PendingCancel");
    expect((await read()).find((o) => o.orderId === resting.orderId)?.status).toBe("Cancelled");
    const filtered = (await call("GET", "/iserver/account/orders?Filters=filled")).body as {
      orders: { status: string }[];
    };
    expect(filtered.orders.length).toBeGreaterThan(0);
    expect(filtered.orders.every((o) => o.status === "Filled")).toBe(true);
    expect([...seen].every((st) => STATUSES.includes(st))).toBe(true);
    expect(seen).toEqual(new Set(["Submitted", "Filled", "PendingCancel", "Cancelled"]));
  });

  it("reports trades for the currently selected account only", async () => {
    const q = await call("POST", `/iserver/account/${SIM_ACCOUNT}/orders`, order("sel-1"));
    await call("POST", `/iserver/reply/${(q.body as { id: string }[])[0]!.id}`, { confirmed: true });
    await call("POST", "/iserver/account", { acctId: SIM_OTHER_ACCOUNT });
    const other = (await call("GET", "/iserver/account/trades")).body as { order_ref?: string }[];
    expect(other.some((t) => t.order_ref === "sel-1")).toBe(false);
    expect((await call("POST", "/iserver/account", { acctId: SIM_ACCOUNT })).body).toEqual({
      set: true,
      acctId: SIM_ACCOUNT,
    });
    const ours = (await call("GET", "/iserver/account/trades")).body as { order_ref?: string }[];
    expect(ours.some((t) => t.order_ref === "sel-1")).toBe(true);
  });
});

describe("positions", () => {
  it("pages 30 at a time and ends with an empty page", async () => {
    const n = 2 * POSITIONS_PAGE_SIZE + 5;
    await admin("positions", {
      positions: Array.from({ length: n }, (_, i) => ({ conid: 900_000 + i, position: i + 1 })),
    });
    await call("GET", "/portfolio/accounts");
    await call("POST", `/portfolio/${SIM_ACCOUNT}/positions/invalidate`);
    const sizes: number[] = [];
    const conids = new Set<number>();
    for (let page = 0; page < 10; page++) {
      const rows = (await call("GET", `/portfolio/${SIM_ACCOUNT}/positions/${page}`)).body as {
        conid: number;
      }[];
      sizes.push(rows.length);
      for (const r of rows) conids.add(r.conid);
      if (rows.length === 0) break;
    }
    expect(sizes.slice(0, 2)).toEqual([POSITIONS_PAGE_SIZE, POSITIONS_PAGE_SIZE]);
    expect(sizes.at(-1)).toBe(0);
    expect([...conids].filter((c) => c >= 900_000)).toHaveLength(n);
    await admin("positions", {
      positions: Array.from({ length: n }, (_, i) => ({ conid: 900_000 + i, position: 0 })),
    });
  });
});

describe("the portfolio cache", () => {
  it("positions stay as first read until the cache is invalidated", async () => {
    await call("GET", "/portfolio/accounts");
    await call("POST", `/portfolio/${SIM_ACCOUNT}/positions/invalidate`);
    const read = async () =>
      (
        (await call("GET", `/portfolio/${SIM_ACCOUNT}/positions/0`)).body as {
          conid: number;
          position: number;
        }[]
      ).find((p) => p.conid === 512_512)?.position;
    expect(await read()).toBeUndefined(); // the first read after the invalidation takes the picture
    await admin("positions", { positions: [{ conid: 512_512, position: 7 }] });
    expect(await read()).toBeUndefined(); // a trade since does not show in it
    await call("POST", `/portfolio/${SIM_ACCOUNT}/positions/invalidate`);
    expect(await read()).toBe(7);
    await admin("positions", { positions: [{ conid: 512_512, position: 0 }] });
  });
});

describe("optional fields", () => {
  it("every optional field the double serves is absent from some rows and present in others", async () => {
    await admin("positions", {
      positions: Array.from({ length: 40 }, (_, i) => ({ conid: 800_000 + i, position: 1 })),
    });
    for (let i = 0; i < 12; i++) {
      const q = await call(
        "POST",
        `/iserver/account/${SIM_ACCOUNT}/orders`,
        order(`opt-${i}`, { quantity: 2 }),
      );
      await call("POST", `/iserver/reply/${(q.body as { id: string }[])[0]!.id}`, { confirmed: true });
    }
    await call("GET", "/iserver/accounts");
    await call("GET", "/portfolio/accounts");
    await call("POST", `/portfolio/${SIM_ACCOUNT}/positions/invalidate`);
    const rows = {
      positions: [
        ...((await call("GET", `/portfolio/${SIM_ACCOUNT}/positions/0`)).body as object[]),
        ...((await call("GET", `/portfolio/${SIM_ACCOUNT}/positions/1`)).body as object[]),
      ],
      orders: ((await call("GET", "/iserver/account/orders")).body as { orders: object[] }).orders,
      trades: (await call("GET", "/iserver/account/trades")).body as object[],
    };
    // Fields IBKR always sends for a row to mean anything; the sparse switch drops those (next test).
    const load = {
      positions: ["acctId", "conid", "position"],
      orders: ["acct", "conid", "orderId", "status", "filledQuantity", "remainingQuantity", "order_ref"],
      trades: ["execution_id", "side", "size", "price", "order_ref", "commission", "account", "conid"],
    };
    for (const [kind, list] of Object.entries(rows) as [keyof typeof rows, object[]][]) {
      const fields = new Set(list.flatMap((r) => Object.keys(r)));
      for (const f of fields) {
        if (load[kind].includes(f)) continue;
        const present = list.filter((r) => f in r).length;
        expect(present, `${kind}.${f} present sometimes`).toBeGreaterThan(0);
        expect(present, `${kind}.${f} absent sometimes`).toBeLessThan(list.length);
      }
    }
    await admin("positions", {
      positions: Array.from({ length: 40 }, (_, i) => ({ conid: 800_000 + i, position: 0 })),
    });
  });

  it("the sparse switch drops even the load-bearing fields, still within the spec", async () => {
    await admin("behaviour", { sparse: ["conid", "position", "commission", "price", "order_ref"] });
    const q = await call("POST", `/iserver/account/${SIM_ACCOUNT}/orders`, order("sparse-1"));
    await call("POST", `/iserver/reply/${(q.body as { id: string }[])[0]!.id}`, { confirmed: true });
    await call("GET", "/portfolio/accounts");
    await call("POST", `/portfolio/${SIM_ACCOUNT}/positions/invalidate`);
    const positions = (await call("GET", `/portfolio/${SIM_ACCOUNT}/positions/0`)).body as object[];
    expect(positions.every((p) => !("conid" in p) && !("position" in p))).toBe(true);
    const trades = (await call("GET", "/iserver/account/trades")).body as object[];
    expect(trades.every((t) => !("commission" in t) && !("price" in t))).toBe(true);
  });
});

describe("market data", () => {
  it("a snapshot needs /iserver/accounts; the first starts a conid's data, the next carries bid, ask and last", async () => {
    await admin("session", { authenticated: false });
    await admin("session", { authenticated: true });
    const path = "/iserver/marketdata/snapshot?conids=265598,8314&fields=31,84,86";
    expect((await call("GET", path)).status).toBe(400);
    await call("GET", "/iserver/accounts");
    const first = await call("GET", path);
    expect(first.status).toBe(200);
    for (const row of first.body as Record<string, unknown>[]) {
      expect(row).toHaveProperty("conid");
      expect(row).not.toHaveProperty("84");
    }
    const next = await call("GET", path);
    const rows = next.body as Record<string, unknown>[];
    expect(rows.map((r) => r.conid)).toEqual([265598, 8314]);
    for (const row of rows) {
      expect(row["84"]).toMatch(/^\d+\.\d{2}$/);
      expect(Number(row["86"])).toBeGreaterThan(Number(row["84"]));
      expect(typeof row["31"]).toBe("string");
    }
    // A new brokerage session starts the data again.
    await admin("session", { authenticated: false });
    await admin("session", { authenticated: true });
    await call("GET", "/iserver/accounts");
    expect((await call("GET", path)).body as Record<string, unknown>[]).not.toContainEqual(
      expect.objectContaining({ "84": expect.anything() }),
    );
  });
});

describe("errors", () => {
  it("pacing answers 429 in the spec's error shape", async () => {
    await admin("limits", { capacity: 2, refillPerSecond: 0.001 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call("POST", "/tickle")).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it("reached every documented path the client uses, with its documented success status", () => {
    const ok = new Set(
      served.filter((s) => s.status === 200).map((s) => `${s.method} ${s.path.split("?")[0]}`),
    );
    for (const need of [
      "POST /iserver/auth/status",
      "POST /tickle",
      "POST /iserver/reauthenticate",
      "GET /iserver/accounts",
      "POST /iserver/account",
      "GET /portfolio/accounts",
      `POST /portfolio/${SIM_ACCOUNT}/positions/invalidate`,
      `GET /portfolio/${SIM_ACCOUNT}/positions/0`,
      `POST /iserver/account/${SIM_ACCOUNT}/orders`,
      "GET /iserver/account/orders",
      "GET /iserver/account/trades",
      "GET /iserver/marketdata/snapshot",
    ])
      expect(ok.has(need), need).toBe(true);
  });
});
