import { exports } from "cloudflare:workers";
import { kalshiTickerAt } from "@paulp/sim-universe";
import { beforeAll, describe, expect, it } from "vitest";
import { FRESHNESS_MS } from "../src/kalshi/trading";

const sim = () => (exports as unknown as { default: Fetcher }).default;
const HOST = "https://api.elections.kalshi.com";
const TICKER = kalshiTickerAt(20261124, 0);

function pem(label: string, der: ArrayBuffer): string {
  const b64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

let keys: CryptoKeyPair;
const KEY_ID = "sim-test-key";

async function signed(
  method: string,
  path: string,
  body?: unknown,
  opts: { skewMs?: number; key?: CryptoKey; keyId?: string; tamper?: boolean } = {},
) {
  // The skew is applied to the clock at signing, not when the file loads (a slow machine made those stale).
  const ts = String(Date.now() + (opts.skewMs ?? 0));
  const signedPath = new URL(HOST + path).pathname;
  const sig = await crypto.subtle.sign(
    { name: "RSA-PSS", saltLength: 32 },
    opts.key ?? keys.privateKey,
    new TextEncoder().encode(`${ts}${method}${opts.tamper ? `${signedPath}x` : signedPath}`),
  );
  return sim().fetch(HOST + path, {
    method,
    headers: {
      "KALSHI-ACCESS-KEY": opts.keyId ?? KEY_ID,
      "KALSHI-ACCESS-TIMESTAMP": ts,
      "KALSHI-ACCESS-SIGNATURE": btoa(String.fromCharCode(...new Uint8Array(sig))),
      "content-type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const admin = (path: string, body: unknown) =>
  sim().fetch(`${HOST}/__sim/kalshi/${path}`, { method: "POST", body: JSON.stringify(body) });
const order = (coid: string, extra: Record<string, unknown> = {}) => ({
  ticker: TICKER,
  client_order_id: coid,
  side: "bid",
  count: "3.00",
  price: "0.9900",
  time_in_force: "immediate_or_cancel",
  self_trade_prevention_type: "taker_at_cross",
  ...extra,
});

beforeAll(async () => {
  keys = (await crypto.subtle.generateKey(
    { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const res = await admin("keys", {
    keyId: KEY_ID,
    publicKeyPem: pem("PUBLIC KEY", (await crypto.subtle.exportKey("spki", keys.publicKey)) as ArrayBuffer),
  });
  expect(res.status).toBe(201);
});

describe("Kalshi trading simulator: authentication", () => {
  it("accepts a correctly signed request", async () => {
    const res = await signed("GET", "/trade-api/v2/portfolio/balance");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { balance: number }).balance).toBeGreaterThan(0);
  });

  it("signs the path without the query string", async () => {
    const res = await signed("GET", `/trade-api/v2/portfolio/orders?ticker=${TICKER}`);
    expect(res.status).toBe(200);
  });

  // Offsets, not timestamps: the time is read when the request is signed, never when the file loads (a loaded
  // machine can start a test minutes later, and a "future" timestamp computed at load time is then stale).
  it.each([
    ["a signature over another path", { tamper: true }],
    ["a stale timestamp", { skewMs: -FRESHNESS_MS - 1_000 }],
    ["a timestamp from the future", { skewMs: FRESHNESS_MS + 1_000 }],
    ["an unregistered key id", { keyId: "nobody" }],
  ])("refuses %s with 401 and stores nothing", async (_name, opts) => {
    const res = await signed(
      "POST",
      "/trade-api/v2/portfolio/events/orders",
      order(`auth-${Math.random().toString(36).slice(2)}`),
      opts,
    );
    expect(res.status).toBe(401);
    const all = (await (await sim().fetch(`${HOST}/__sim/kalshi/orders`)).json()) as {
      orders: { client_order_id: string }[];
    };
    expect(all.orders.filter((o) => o.client_order_id.startsWith("auth-"))).toEqual([]);
  });

  it("refuses a signature by another key", async () => {
    const other = (await crypto.subtle.generateKey(
      { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const res = await signed("GET", "/trade-api/v2/portfolio/balance", undefined, { key: other.privateKey });
    expect(res.status).toBe(401);
  });

  it("refuses a request without the headers", async () => {
    const res = await sim().fetch(`${HOST}/trade-api/v2/portfolio/balance`);
    expect(res.status).toBe(401);
  });
});

describe("Kalshi trading simulator: orders", () => {
  it("fills a crossing V2 order against the book and moves the position", async () => {
    const before = (await (await signed("GET", "/trade-api/v2/portfolio/positions")).json()) as {
      market_positions: { ticker: string; position_fp: string }[];
    };
    const pos0 = Number(before.market_positions.find((p) => p.ticker === TICKER)?.position_fp ?? 0);
    const res = await signed("POST", "/trade-api/v2/portfolio/events/orders", order("fill-1"));
    expect(res.status).toBe(201);
    const ack = (await res.json()) as {
      order_id: string;
      fill_count: string;
      remaining_count: string;
      average_fill_price: string;
    };
    expect(ack.fill_count).toBe("3.00");
    expect(ack.average_fill_price).toMatch(/^0\.\d{4,6}$/);
    const after = (await (await signed("GET", "/trade-api/v2/portfolio/positions")).json()) as {
      market_positions: { ticker: string; position_fp: string }[];
    };
    expect(Number(after.market_positions.find((p) => p.ticker === TICKER)!.position_fp)).toBe(pos0 + 3);
    const got = (await (await signed("GET", `/trade-api/v2/portfolio/orders/${ack.order_id}`)).json()) as {
      order: { status: string; client_order_id: string };
    };
    expect(got.order).toMatchObject({ status: "executed", client_order_id: "fill-1" });
    const fills = (await (await signed("GET", `/trade-api/v2/portfolio/fills?ticker=${TICKER}`)).json()) as {
      fills: { order_id: string; count_fp: string; client_order_id?: string }[];
    };
    const fill = fills.fills.find((f) => f.order_id === ack.order_id);
    expect(fill?.count_fp).toBe("3.00");
    // Kalshi dropped client_order_id from fills (2026-03-30).
    expect(fill && "client_order_id" in fill).toBe(false);
  });

  it("does not fill an order priced away from the book (IOC remainder cancelled)", async () => {
    const res = await signed(
      "POST",
      "/trade-api/v2/portfolio/events/orders",
      order("nofill-1", { price: "0.0100" }),
    );
    expect(res.status).toBe(201);
    const ack = (await res.json()) as { fill_count: string; remaining_count: string };
    expect(ack.fill_count).toBe("0.00");
  });

  it("answers a duplicate client_order_id with 409 and keeps one order", async () => {
    expect((await signed("POST", "/trade-api/v2/portfolio/events/orders", order("dup-1"))).status).toBe(201);
    const again = await signed("POST", "/trade-api/v2/portfolio/events/orders", order("dup-1"));
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("order_already_exists");
    const all = (await (await sim().fetch(`${HOST}/__sim/kalshi/orders`)).json()) as {
      orders: { client_order_id: string }[];
    };
    expect(all.orders.filter((o) => o.client_order_id === "dup-1")).toHaveLength(1);
  });

  it("has no legacy create endpoint: the spec lists only the V2 one", async () => {
    const res = await signed("POST", "/trade-api/v2/portfolio/orders", {
      ticker: TICKER,
      client_order_id: "legacy-1",
      side: "yes",
      action: "buy",
      count: 1,
      yes_price: 99,
      type: "limit",
    });
    expect(res.status).toBe(404);
  });

  it("fills fractional counts exactly (0.01 granularity)", async () => {
    const res = await signed(
      "POST",
      "/trade-api/v2/portfolio/events/orders",
      order("frac-1", { count: "2.50" }),
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ fill_count: "2.50", remaining_count: "0.00" });
  });

  it("rejects malformed prices and counts with 400", async () => {
    expect(
      (await signed("POST", "/trade-api/v2/portfolio/events/orders", order("bad-1", { price: "56" }))).status,
    ).toBe(400);
    expect(
      (await signed("POST", "/trade-api/v2/portfolio/events/orders", order("bad-2", { count: 3 }))).status,
    ).toBe(400);
  });

  it("cancels a resting order", async () => {
    const res = await signed(
      "POST",
      "/trade-api/v2/portfolio/events/orders",
      order("rest-1", { price: "0.0100", time_in_force: "good_till_canceled" }),
    );
    const { order_id } = (await res.json()) as { order_id: string };
    const del = await signed("DELETE", `/trade-api/v2/portfolio/events/orders/${order_id}`);
    expect(del.status).toBe(200);
    expect(((await del.json()) as { reduced_by: string }).reduced_by).toBe("3.00");
    const got = (await (await signed("GET", `/trade-api/v2/portfolio/orders/${order_id}`)).json()) as {
      order: { status: string };
    };
    expect(got.order.status).toBe("canceled");
  });

  it("stores the order but loses the answer under the after-acceptance fault", async () => {
    await admin("faults", { afterAccept: "error", times: 1 });
    const res = await signed("POST", "/trade-api/v2/portfolio/events/orders", order("lost-1"));
    expect(res.status).toBe(504);
    const list = (await (await signed("GET", `/trade-api/v2/portfolio/orders?ticker=${TICKER}`)).json()) as {
      orders: { client_order_id: string; status: string }[];
    };
    expect(list.orders.filter((o) => o.client_order_id === "lost-1")).toHaveLength(1);
    // The fault fires once only.
    expect((await signed("POST", "/trade-api/v2/portfolio/events/orders", order("lost-2"))).status).toBe(201);
  });

  it("rate-limits writes with 429", async () => {
    await admin("limits", { writeCapacity: 2, writeRefillPerSecond: 0.001 });
    const statuses = [];
    for (const id of ["rl-1", "rl-2", "rl-3"])
      statuses.push((await signed("POST", "/trade-api/v2/portfolio/events/orders", order(id))).status);
    expect(statuses).toEqual([201, 201, 429]);
    await admin("limits", {});
  });
});
