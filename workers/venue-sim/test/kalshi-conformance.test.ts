import { exports } from "cloudflare:workers";
import * as S from "@paulp/kalshi-spec";
import {
  KALSHI_SCALAR_INDEX,
  KALSHI_UNREPRESENTABLE_INDEX,
  kalshiMarketWire,
  kalshiTickerAt,
  UNIVERSE_SIZES,
} from "@paulp/sim-universe";
import * as v from "valibot";
import { beforeAll, describe, expect, it } from "vitest";

// Conformance: every body venue-sim's Kalshi serves is checked, as served, against the strict schemas of
// @paulp/kalshi-spec (each proven at compile time equal to kalshi-typescript's model), and its auth rules are
// the spec's (the endpoint table is checked against the SDK's docs in packages/kalshi-spec/test).
const sim = () => (exports as unknown as { default: Fetcher }).default;
const HOST = "https://api.elections.kalshi.com";
const K = `${HOST}/trade-api/v2`;
const SEED = 20261124;

let full: CryptoKeyPair;
let readOnly: CryptoKeyPair;

function pem(der: ArrayBuffer): string {
  const b64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  return `-----BEGIN PUBLIC KEY-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

async function register(keyId: string, pair: CryptoKeyPair, scopes?: string[]) {
  const res = await sim().fetch(`${HOST}/__sim/kalshi/keys`, {
    method: "POST",
    body: JSON.stringify({
      keyId,
      publicKeyPem: pem((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer),
      ...(scopes ? { scopes } : {}),
    }),
  });
  expect(res.status).toBe(201);
}

async function call(
  method: string,
  url: string,
  o: { keyId?: string; pair?: CryptoKeyPair; body?: unknown } = {},
) {
  const headers: Record<string, string> = {};
  if (o.pair) {
    const ts = String(Date.now());
    const sig = await crypto.subtle.sign(
      { name: "RSA-PSS", saltLength: 32 },
      o.pair.privateKey,
      new TextEncoder().encode(`${ts}${method}${new URL(url).pathname}`),
    );
    headers["KALSHI-ACCESS-KEY"] = o.keyId!;
    headers["KALSHI-ACCESS-TIMESTAMP"] = ts;
    headers["KALSHI-ACCESS-SIGNATURE"] = btoa(String.fromCharCode(...new Uint8Array(sig)));
  }
  if (o.body !== undefined) headers["content-type"] = "application/json";
  return sim().fetch(url, {
    method,
    headers,
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
  });
}

/** Parse a served body with the operation's strict response model; answers the problems. */
async function conforms(operation: string, res: Response): Promise<string[]> {
  const e = S.KALSHI_ENDPOINTS.find((x) => x.operation === operation)!;
  const parsed = v.safeParse(e.response, await res.json());
  return parsed.success ? [] : parsed.issues.slice(0, 5).map((i) => `${v.getDotPath(i)}: ${i.message}`);
}

const gen = (pair: Promise<CryptoKeyPair>) => pair;
beforeAll(async () => {
  const params = {
    name: "RSA-PSS",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  };
  full = await gen(crypto.subtle.generateKey(params, true, ["sign", "verify"]) as Promise<CryptoKeyPair>);
  readOnly = await gen(crypto.subtle.generateKey(params, true, ["sign", "verify"]) as Promise<CryptoKeyPair>);
  await register("conf-full", full);
  await register("conf-read", readOnly, ["read"]);
});

describe("venue-sim's Kalshi bodies conform to kalshi-typescript's models", () => {
  it("every market of the small universe (GET /markets, all pages) is a Market", async () => {
    let cursor = "";
    let seen = 0;
    do {
      const res = await call("GET", `${K}/markets?limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
      const body = (await res.clone().json()) as { markets: unknown[]; cursor: string };
      expect(await conforms("getMarkets", res)).toEqual([]);
      seen += body.markets.length;
      cursor = body.cursor;
    } while (cursor);
    expect(seen).toBe(UNIVERSE_SIZES.small.kalshiMarkets);
  });

  it("markets vary the optional and nullable fields as the spec allows (no category, no series_ticker)", () => {
    const markets = Array.from({ length: 200 }, (_, i) => kalshiMarketWire(SEED, "small", i, 0));
    expect(markets.some((m) => m.title === undefined)).toBe(true);
    expect(markets.some((m) => m.expected_expiration_time === null)).toBe(true);
    expect(markets.some((m) => m.settlement_ts === null)).toBe(true);
    expect(markets.some((m) => m.mve_selected_legs !== undefined)).toBe(true);
    for (const m of markets) {
      expect("category" in m).toBe(false);
      expect("series_ticker" in m).toBe(false);
    }
    expect(
      v.safeParse(S.Market, kalshiMarketWire(SEED, "small", KALSHI_UNREPRESENTABLE_INDEX, 0)).success,
    ).toBe(true);
    expect(v.safeParse(S.Market, kalshiMarketWire(SEED, "realistic", 49_999, 0)).success).toBe(true);
    expect(kalshiMarketWire(SEED, "small", KALSHI_SCALAR_INDEX, 0).market_type).toBe("scalar");
  });

  it("one market, its order book, series, events, exchange status", async () => {
    const ticker = kalshiTickerAt(SEED, 7);
    const m = kalshiMarketWire(SEED, "small", 7, Date.now());
    expect(await conforms("getMarket", await call("GET", `${K}/markets/${ticker}`))).toEqual([]);
    const book = await call("GET", `${K}/markets/${ticker}/orderbook`, {
      keyId: "conf-read",
      pair: readOnly,
    });
    expect(book.status).toBe(200);
    expect(await conforms("getMarketOrderbook", book)).toEqual([]);
    expect(await conforms("getSeriesList", await call("GET", `${K}/series`))).toEqual([]);
    const ev = await call("GET", `${K}/events/${m.event_ticker}?with_nested_markets=true`);
    const evBody = (await ev.clone().json()) as { event: { series_ticker: string } };
    expect(await conforms("getEvent", ev)).toEqual([]);
    expect(
      await conforms("getSeries", await call("GET", `${K}/series/${evBody.event.series_ticker}`)),
    ).toEqual([]);
    expect(await conforms("getEvents", await call("GET", `${K}/events?limit=200&status=open`))).toEqual([]);
    expect(await conforms("getEvents", await call("GET", `${K}/events?tickers=${m.event_ticker}`))).toEqual(
      [],
    );
    expect(await conforms("getExchangeStatus", await call("GET", `${K}/exchange/status`))).toEqual([]);
  });

  it("portfolio: create, lookup, list (cursor paging), fills, positions, balance, cancel", async () => {
    const auth = { keyId: "conf-full", pair: full };
    const ticker = kalshiTickerAt(SEED, 1);
    const coids: string[] = [];
    for (let k = 0; k < 3; k++) {
      const coid = `conf-${k}-${crypto.randomUUID().slice(0, 8)}`;
      coids.push(coid);
      const res = await call("POST", `${K}/portfolio/events/orders`, {
        ...auth,
        body: {
          ticker,
          client_order_id: coid,
          side: k === 1 ? "ask" : "bid",
          count: k === 2 ? "1.50" : "2.00",
          price: k === 1 ? "0.0100" : "0.9900",
          time_in_force: "immediate_or_cancel",
          self_trade_prevention_type: "taker_at_cross",
        },
      });
      expect(res.status).toBe(201);
      expect(await conforms("createOrderV2", res)).toEqual([]);
    }
    const rest = await call("POST", `${K}/portfolio/events/orders`, {
      ...auth,
      body: {
        ticker,
        client_order_id: `conf-rest-${crypto.randomUUID().slice(0, 8)}`,
        side: "bid",
        count: "1.00",
        price: "0.0100",
        time_in_force: "good_till_canceled",
        self_trade_prevention_type: "maker",
      },
    });
    const { order_id } = (await rest.json()) as { order_id: string };
    expect(await conforms("getOrder", await call("GET", `${K}/portfolio/orders/${order_id}`, auth))).toEqual(
      [],
    );
    // Paging: two per page until the cursor is empty, each order once.
    const seen: string[] = [];
    let cursor = "";
    do {
      const res = await call(
        "GET",
        `${K}/portfolio/orders?ticker=${ticker}&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        auth,
      );
      const body = (await res.clone().json()) as {
        orders: { order_id: string; status: string }[];
        cursor: string;
      };
      expect(await conforms("getOrders", res)).toEqual([]);
      expect(body.orders.length).toBeLessThanOrEqual(2);
      for (const o of body.orders) expect(["resting", "canceled", "executed"]).toContain(o.status);
      seen.push(...body.orders.map((o) => o.order_id));
      cursor = body.cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    for (const path of [
      "fills?limit=1",
      `fills?ticker=${ticker}`,
      "positions?count_filter=position&limit=1",
      "balance",
    ]) {
      const res = await call("GET", `${K}/portfolio/${path}`, auth);
      expect(res.status, path).toBe(200);
      const op = path.startsWith("fills")
        ? "getFills"
        : path.startsWith("positions")
          ? "getPositions"
          : "getBalance";
      expect(await conforms(op, res), path).toEqual([]);
    }
    expect(
      await conforms("cancelOrderV2", await call("DELETE", `${K}/portfolio/events/orders/${order_id}`, auth)),
    ).toEqual([]);
  });
});

describe("venue-sim enforces the spec's authentication on every Kalshi endpoint", () => {
  const concrete = (path: string) =>
    path
      .replace("{ticker}", kalshiTickerAt(SEED, 2))
      .replace("{series_ticker}", "KXCPIYOY")
      .replace("{event_ticker}", kalshiMarketWire(SEED, "small", 2, 0).event_ticker)
      .replace("{order_id}", "sim-00000001");

  for (const e of S.KALSHI_ENDPOINTS) {
    it(`${e.method} ${e.path}: ${e.auth ? "refused unsigned (401)" : "public"}`, async () => {
      const res = await call(e.method, `${K}${concrete(e.path)}`, e.body ? { body: {} } : {});
      if (e.auth) {
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
      } else expect(res.status).toBe(200);
    });
  }

  it("a signature that does not verify is refused even on a public endpoint", async () => {
    const res = await sim().fetch(`${K}/markets?limit=1`, {
      headers: {
        "KALSHI-ACCESS-KEY": "conf-full",
        "KALSHI-ACCESS-TIMESTAMP": String(Date.now()),
        "KALSHI-ACCESS-SIGNATURE": "AAAA",
      },
    });
    expect(res.status).toBe(401);
  });

  it("a read-only key reads its portfolio but cannot trade (403), and nothing is stored", async () => {
    const auth = { keyId: "conf-read", pair: readOnly };
    expect((await call("GET", `${K}/portfolio/balance`, auth)).status).toBe(200);
    const coid = `ro-${crypto.randomUUID().slice(0, 8)}`;
    const res = await call("POST", `${K}/portfolio/events/orders`, {
      ...auth,
      body: {
        ticker: kalshiTickerAt(SEED, 1),
        client_order_id: coid,
        side: "bid",
        count: "1.00",
        price: "0.9900",
        time_in_force: "immediate_or_cancel",
        self_trade_prevention_type: "taker_at_cross",
      },
    });
    expect(res.status).toBe(403);
    const all = (await (await sim().fetch(`${HOST}/__sim/kalshi/orders`)).json()) as {
      orders: { client_order_id: string }[];
    };
    expect(all.orders.some((o) => o.client_order_id === coid)).toBe(false);
  });
});
