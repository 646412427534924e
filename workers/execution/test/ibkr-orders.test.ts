// What IBKR's own description changed in execution, through the real worker, its order manager and the
// simulator: positions read page by page, fills recorded at their executions' average price with their
// commission, an asynchronous bounded reauthentication, and the Cloudflare Access service token.
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  afterOutbox,
  approvedDecision,
  execution,
  goLive,
  ibkrIntent,
  reportedFills,
  simAdmin,
  simIbkrOrders,
} from "./helpers";

const LIVE = "rv-live-ibkr";
const GW = "https://ibkr-gw.test";

beforeAll(async () => {
  await goLive(LIVE);
});

afterEach(() => simAdmin("ibkr", "reset", {}));

async function submit(quantity: number) {
  const i = ibkrIntent(LIVE, quantity);
  const d = await approvedDecision(i);
  const r = await execution().submitOrder(i, d.decisionId, ADMIN);
  if (!r.ok) throw new Error(r.error.message);
  return { i, order: r.value.order };
}

/** The simulator's executions of one order, as its trades endpoint reports them (a test's own read). */
async function executionsOf(cOID: string): Promise<{ size: number; price: number; commission: number }[]> {
  const call = (path: string) => env.VENUE_SIM.fetch(`${GW}/v1/api${path}`);
  const trades = (await (await call("/iserver/account/trades")).json()) as {
    order_ref?: string;
    size?: string;
    price?: string;
    commission?: number;
  }[];
  return trades
    .filter((t) => t.order_ref === cOID)
    .map((t) => ({ size: Number(t.size), price: Number(t.price), commission: Number(t.commission) }));
}

describe("reconciliation reads every IBKR position", () => {
  it("pages through the positions (30 a page) after the portfolio accounts and a fresh cache", async () => {
    const conids = Array.from({ length: 65 }, (_, i) => 600_000 + i);
    await simAdmin("ibkr", "positions", { positions: conids.map((conid) => ({ conid, position: 4 })) });
    try {
      const r = await execution().reconcile(ADMIN);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.venues.find((x) => x.venue === "ibkr")).toEqual({ venue: "ibkr", status: "ok" });
      const drifted = r.value.drifts.filter((d) => d.venue === "ibkr" && conids.includes(Number(d.market)));
      expect(drifted).toHaveLength(65);
      expect(drifted.every((d) => d.venuePosition === 4 && d.internal === 0)).toBe(true);
    } finally {
      await simAdmin("ibkr", "positions", { positions: conids.map((conid) => ({ conid, position: 0 })) });
    }
  });
});

describe("IBKR fills", () => {
  it("are recorded at the executions' average price with their commission, never the limit with no fee", async () => {
    const { i, order } = await submit(5);
    expect(order.state).toBe("submitted");
    await execution().resolveUnknown(ADMIN);
    const after = await execution().getOrder(i.clientOrderId);
    if (!after.ok) throw new Error(after.error.message);
    const ex = await executionsOf(i.clientOrderId);
    expect(ex.length).toBe(2); // the simulator fills in two executions at different prices
    const avg = ex.reduce((n, x) => n + x.size * x.price, 0) / 5;
    const fee = ex.reduce((n, x) => n + x.commission, 0);
    expect(after.value).toMatchObject({ state: "filled", filledQuantity: 5 });
    expect(Number(after.value.avgFillPrice)).toBeCloseTo(avg, 4);
    expect(after.value.avgFillPrice).not.toBe(i.limitPrice);
    expect(Number(after.value.fees)).toBeCloseTo(fee, 4);
    expect(Number(after.value.fees)).toBeGreaterThan(0);
    const fills = await afterOutbox(
      async () => (await reportedFills()).filter((f) => f.fill.clientOrderId === i.clientOrderId),
      (x) => x.length > 0,
    );
    expect(fills[0]!.fill).toMatchObject({
      quantity: 5,
      price: after.value.avgFillPrice,
      fee: after.value.fees,
    });
  });

  it("wait for the trades to report them: an order IBKR calls Filled stays open until its executions show", async () => {
    await simAdmin("ibkr", "behaviour", { tradesHidden: true });
    const { i } = await submit(2);
    await execution().resolveUnknown(ADMIN);
    const waiting = await execution().getOrder(i.clientOrderId);
    expect(waiting.ok && waiting.value).toMatchObject({ state: "submitted", filledQuantity: 0 });
    await simAdmin("ibkr", "behaviour", { tradesHidden: false });
    await execution().resolveUnknown(ADMIN);
    const done = await execution().getOrder(i.clientOrderId);
    expect(done.ok && done.value).toMatchObject({ state: "filled", filledQuantity: 2 });
    expect(done.ok && done.value.avgFillPrice).not.toBe(i.limitPrice);
  });

  it("without a reported commission, are charged the commission schedule's worst case", async () => {
    await simAdmin("ibkr", "behaviour", { sparse: ["commission"] });
    const { i } = await submit(3);
    await execution().resolveUnknown(ADMIN);
    const after = await execution().getOrder(i.clientOrderId);
    // IBKR fixed: USD 0.005 a share, at least USD 1.00 an order.
    expect(after.ok && after.value).toMatchObject({ state: "filled", filledQuantity: 3, fees: "1.0000" });
  });

  it("a partial fill is recorded, and the rest when it comes", async () => {
    await simAdmin("ibkr", "behaviour", { fill: "partial" });
    const { i } = await submit(4);
    await execution().resolveUnknown(ADMIN);
    const part = await execution().getOrder(i.clientOrderId);
    expect(part.ok && part.value).toMatchObject({ state: "partially_filled", filledQuantity: 2 });
    expect(Number(part.ok && part.value.fees)).toBeGreaterThan(0);
  });
});

describe("IBKR reauthentication is asynchronous and bounded", () => {
  it("a lapsed session is reauthenticated by polling the status, then the order goes", async () => {
    await simAdmin("ibkr", "session", { authenticated: false, reauthPolls: 2 });
    const { i, order } = await submit(1);
    expect(order.state).toBe("submitted");
    expect((await simIbkrOrders()).some((o) => o.cOID === i.clientOrderId)).toBe(true);
  });

  it("a reauthentication that never completes refuses the order as auth, and nothing is placed", async () => {
    await simAdmin("ibkr", "session", { authenticated: false, reauthPolls: null });
    const { i, order } = await submit(1);
    expect(order.state).toBe("rejected");
    expect(order.reason).toMatch(/^auth: IBKR brokerage session did not become authenticated/);
    expect((await simIbkrOrders()).some((o) => o.cOID === i.clientOrderId)).toBe(false);
  });

  it("the per-minute keep-alive brings a lapsed session back", async () => {
    await simAdmin("ibkr", "session", { authenticated: false, reauthPolls: 1 });
    await (
      exports as unknown as {
        default: { scheduled(c: { cron: string; scheduledTime: number }): Promise<void> };
      }
    ).default.scheduled({ cron: "* * * * *", scheduledTime: Date.now() });
    const status = (await (
      await env.VENUE_SIM.fetch(`${GW}/v1/api/iserver/auth/status`, { method: "POST" })
    ).json()) as { authenticated: boolean };
    expect(status.authenticated).toBe(true);
  });
});

describe("Cloudflare Access in front of the gateway", () => {
  it("the worker's service token opens it; another token closes it and nothing is placed", async () => {
    await simAdmin("ibkr", "behaviour", {
      access: { clientId: env.IBKR_ACCESS_CLIENT_ID, clientSecret: env.IBKR_ACCESS_CLIENT_SECRET },
    });
    const passed = await submit(1);
    expect(passed.order.state).toBe("submitted");
    await simAdmin("ibkr", "behaviour", { access: { clientId: "someone-else.access", clientSecret: "x" } });
    const refused = await submit(1);
    expect(refused.order.state).toBe("rejected");
    expect(refused.order.reason).toMatch(/^auth: /);
    expect((await simIbkrOrders()).some((o) => o.cOID === refused.i.clientOrderId)).toBe(false);
  });
});
