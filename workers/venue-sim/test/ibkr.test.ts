import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { IDLE_MS, SIM_ACCOUNT } from "../src/ibkr";

const sim = () => (exports as unknown as { default: Fetcher }).default;
const GW = "https://ibkr-gw.test/v1/api";
const post = (path: string, body?: unknown) =>
  sim().fetch(GW + path, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });
const admin = (path: string, body: unknown) =>
  sim().fetch(`https://ibkr-gw.test/__sim/ibkr/${path}`, { method: "POST", body: JSON.stringify(body) });
const order = (cOID: string) => ({
  orders: [{ conid: 265598, side: "BUY", orderType: "LMT", price: 101.5, quantity: 5, tif: "DAY", cOID }],
});

describe("IBKR Client Portal simulator", () => {
  it("reports the session and keeps it alive with tickle", async () => {
    const status = (await (await post("/iserver/auth/status")).json()) as {
      authenticated: boolean;
      connected: boolean;
    };
    expect(status).toMatchObject({ authenticated: true, connected: true });
    const tickle = (await (await post("/tickle")).json()) as {
      iserver: { authStatus: { authenticated: boolean } };
    };
    expect(tickle.iserver.authStatus.authenticated).toBe(true);
  });

  it("expires an idle session, refuses orders, and reauthenticates", async () => {
    await admin("session", { authenticated: true, idleMs: IDLE_MS + 1_000 });
    const status = (await (await post("/iserver/auth/status")).json()) as { authenticated: boolean };
    expect(status.authenticated).toBe(false);
    expect((await post(`/iserver/account/${SIM_ACCOUNT}/orders`, order("expired-1"))).status).toBe(401);
    expect((await post("/iserver/reauthenticate")).status).toBe(200);
    expect(
      ((await (await post("/iserver/auth/status")).json()) as { authenticated: boolean }).authenticated,
    ).toBe(true);
  });

  it("asks chained questions, places the order after both are confirmed, and moves the position", async () => {
    await admin("questions", { messageIds: ["o354", "o163"] });
    const q1 = (await (await post(`/iserver/account/${SIM_ACCOUNT}/orders`, order("chain-1"))).json()) as {
      id: string;
      messageIds: string[];
    }[];
    expect(q1[0]!.messageIds).toEqual(["o354"]);
    const q2 = (await (await post(`/iserver/reply/${q1[0]!.id}`, { confirmed: true })).json()) as {
      id: string;
      messageIds: string[];
    }[];
    expect(q2[0]!.messageIds).toEqual(["o163"]);
    const placed = (await (await post(`/iserver/reply/${q2[0]!.id}`, { confirmed: true })).json()) as {
      order_id: string;
    }[];
    expect(placed[0]!.order_id).toMatch(/^\d+$/);
    const live = (await (await sim().fetch(`${GW}/iserver/account/orders`)).json()) as {
      orders: { order_ref: string; status: string; filledQuantity: number }[];
    };
    expect(live.orders.find((o) => o.order_ref === "chain-1")).toMatchObject({
      status: "Filled",
      filledQuantity: 5,
    });
    const positions = (await (await sim().fetch(`${GW}/portfolio/${SIM_ACCOUNT}/positions/0`)).json()) as {
      conid: number;
      position: number;
    }[];
    expect(positions.find((p) => p.conid === 265598)?.position).toBe(5);
    // A reply id is single use.
    expect((await post(`/iserver/reply/${q2[0]!.id}`, { confirmed: true })).status).toBe(400);
  });

  it("drops the order when a question is answered no", async () => {
    await admin("questions", { messageIds: ["o999"] });
    const q = (await (await post(`/iserver/account/${SIM_ACCOUNT}/orders`, order("declined-1"))).json()) as {
      id: string;
    }[];
    const answer = (await (await post(`/iserver/reply/${q[0]!.id}`, { confirmed: false })).json()) as {
      order_status: string;
    }[];
    expect(answer[0]!.order_status).toBe("Cancelled");
    const live = (await (await sim().fetch(`${GW}/iserver/account/orders`)).json()) as {
      orders: { order_ref: string }[];
    };
    expect(live.orders.some((o) => o.order_ref === "declined-1")).toBe(false);
  });

  it("refuses a duplicate cOID", async () => {
    await admin("questions", { messageIds: [] });
    expect((await post(`/iserver/account/${SIM_ACCOUNT}/orders`, order("dup-c"))).status).toBe(200);
    const dup = await post(`/iserver/account/${SIM_ACCOUNT}/orders`, order("dup-c"));
    expect(dup.status).toBe(400);
    expect(((await dup.json()) as { error: string }).error).toMatch(
      /Local order ID=dup-c is already registered/,
    );
  });

  it("accepts the bare-array order form and cancels by order id", async () => {
    const placed = (await (
      await post(`/iserver/account/${SIM_ACCOUNT}/orders`, order("bare-1").orders)
    ).json()) as { order_id: string }[];
    const del = await sim().fetch(`${GW}/iserver/account/${SIM_ACCOUNT}/order/${placed[0]!.order_id}`, {
      method: "DELETE",
    });
    expect(del.status).toBe(200);
    expect(
      (await sim().fetch(`${GW}/iserver/account/${SIM_ACCOUNT}/order/99999999`, { method: "DELETE" })).status,
    ).toBe(404);
  });

  it("paces with 429", async () => {
    await admin("limits", { capacity: 2, refillPerSecond: 0.001 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post("/tickle")).status);
    expect(statuses).toEqual([200, 200, 429]);
    await admin("limits", {});
  });
});
