// Kalshi conformance, execution's side: every request the trading client sends (path, query, body, headers,
// signature) is checked against kalshi-typescript's documented operations and request models through
// @paulp/kalshi-spec; its parser is fed fixtures typed as the official models (optional fields absent,
// nullable ones null); an order resolved by a lookup takes its average from the fill cost fields, never the
// limit; fractional counts are carried exactly.
import { env } from "cloudflare:workers";
import { kalshiPublicKey, kalshiRequestProblems, type SentRequest } from "@paulp/kalshi-spec";
import { createEgressFetch, type EgressFetch } from "@paulp/kit";
import type * as K from "kalshi-typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { averageFromFillCost, countOf, createKalshiClient } from "../src/venues/kalshi";
import {
  ADMIN,
  afterOutbox,
  approvedDecision,
  execution,
  intent,
  liveOnSimulator,
  type ReportedFill,
  reportedFills,
  risk,
  simAdmin,
  TICKERS,
} from "./helpers";

const LIVE = "rv-live-conformance";

const publicKey = () => kalshiPublicKey(env.TEST_KALSHI_PUBLIC_KEY);

function recordingClient(answer?: (url: URL) => Response) {
  const real = createEgressFetch({ simulator: env.VENUE_SIM, timeoutMs: 5_000 });
  const sent: SentRequest[] = [];
  const fetch: EgressFetch = async (input, init) => {
    const url = typeof input === "string" ? input : input.href;
    sent.push({
      method: init?.method ?? "GET",
      url,
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? init.body : null,
    });
    return answer ? answer(new URL(url)) : real(input, init);
  };
  const client = createKalshiClient({
    keyId: env.KALSHI_API_KEY,
    privateKeyPem: env.KALSHI_PRIVATE_KEY,
    fetch,
    now: Date.now,
  });
  return { client, sent };
}

/** An order as Kalshi's model has it: every required field, the optional ones left out. */
function orderFixture(over: Partial<K.Order> = {}): K.Order {
  return {
    order_id: "o-1",
    user_id: "u-1",
    client_order_id: "pp-fixture",
    ticker: "KXFIX-1",
    outcome_side: "yes",
    book_side: "bid",
    type: "limit",
    status: "executed",
    yes_price_dollars: "0.6000",
    no_price_dollars: "0.4000",
    fill_count_fp: "4.00",
    remaining_count_fp: "0.00",
    initial_count_fp: "4.00",
    taker_fill_cost_dollars: "2.200000",
    maker_fill_cost_dollars: "0.000000",
    taker_fees_dollars: "0.070000",
    maker_fees_dollars: "0.000000",
    ...over,
  } satisfies K.Order;
}

beforeAll(() => liveOnSimulator(LIVE));

describe("execution's Kalshi requests conform to the spec", () => {
  it("create, lookup, list, positions, fills, balance, cancel: documented paths, parameters, bodies and signatures", async () => {
    const { client, sent } = recordingClient();
    const coid = `conf-${crypto.randomUUID().slice(0, 8)}`;
    const created = await client.createOrder({
      ticker: TICKERS[3]!,
      clientOrderId: coid,
      side: "buy",
      count: 3,
      price: "0.99",
      timeInForce: "immediate_or_cancel",
    });
    expect(created.ok).toBe(true);
    const found = await client.findByClientOrderId(TICKERS[3]!, coid);
    expect(found.ok && found.value?.clientOrderId).toBe(coid);
    expect((await client.getOrder(found.ok ? found.value!.orderId : "x")).ok).toBe(true);
    expect((await client.positions()).ok).toBe(true);
    expect((await client.fills(TICKERS[3]!)).ok).toBe(true);
    expect((await client.balance()).ok).toBe(true);
    expect((await client.cancelOrder(found.ok ? found.value!.orderId : "x")).ok).toBe(true);
    const key = await publicKey();
    expect(sent.length).toBeGreaterThanOrEqual(7);
    for (const r of sent)
      expect(await kalshiRequestProblems(r, { publicKey: key, nowMs: Date.now() }), r.url).toEqual([]);
    const body = JSON.parse(sent[0]!.body!) as K.CreateOrderV2Request;
    expect(body).toEqual({
      ticker: TICKERS[3],
      client_order_id: coid,
      side: "bid",
      count: "3.00",
      price: "0.9900",
      time_in_force: "immediate_or_cancel",
      self_trade_prevention_type: "taker_at_cross",
    });
  });

  it("a request the spec would refuse is caught by the check (the check can fail)", async () => {
    const key = await publicKey();
    const base = "https://api.elections.kalshi.com/trade-api/v2";
    const unsigned = {
      method: "GET",
      url: `${base}/portfolio/orders?limit=100`,
      headers: new Headers(),
      body: null,
    };
    expect(await kalshiRequestProblems(unsigned, { publicKey: key })).toContain(
      "getOrders: KALSHI-ACCESS-KEY missing",
    );
    const badQuery = {
      method: "GET",
      url: `${base}/markets?limit=5000&category=x`,
      headers: new Headers(),
      body: null,
    };
    expect(await kalshiRequestProblems(badQuery)).toEqual([
      "getMarkets: limit=5000 must be an integer in [1, 1000]",
      "getMarkets: query parameter category is not documented",
    ]);
  });
});

describe("execution's Kalshi parser, fed the official models", () => {
  it("the average of a lookup comes from the fill cost fields, not the limit (a bid: YES cost; an ask: NO cost)", () => {
    // 4 contracts bought for $2.20: 0.55 each, under the 0.60 limit.
    expect(averageFromFillCost(orderFixture())).toBe("0.5500");
    // An ask sells YES, i.e. buys NO: $1.60 of NO for 4 is 0.40 NO each, so 0.60 YES (above the 0.55 limit).
    expect(
      averageFromFillCost(
        orderFixture({
          book_side: "ask",
          outcome_side: "no",
          yes_price_dollars: "0.5500",
          taker_fill_cost_dollars: "1.600000",
        }),
      ),
    ).toBe("0.6000");
    // Maker and taker costs add up; fractional counts divide exactly.
    expect(
      averageFromFillCost(
        orderFixture({
          fill_count_fp: "2.50",
          taker_fill_cost_dollars: "0.500000",
          maker_fill_cost_dollars: "0.875000",
        }),
      ),
    ).toBe("0.5500");
    // Costs the limit forbids, or nothing filled: no average (the caller counts the fills at the limit).
    expect(averageFromFillCost(orderFixture({ taker_fill_cost_dollars: "3.000000" }))).toBeNull();
    expect(
      averageFromFillCost(orderFixture({ fill_count_fp: "0.00", taker_fill_cost_dollars: "0.000000" })),
    ).toBeNull();
  });

  it("counts are exact to 0.01, never truncated", () => {
    expect(countOf("2.50")).toBe(2.5);
    expect(countOf("0.01")).toBe(0.01);
    expect(countOf("-3.25")).toBe(-3.25);
    expect(countOf("10")).toBe(10);
    expect(() => countOf("1.005")).toThrow();
  });

  it("reads an order with every optional field absent and every nullable one null, and refuses a status the spec lacks", async () => {
    const nullable = orderFixture({
      expiration_time: null,
      created_time: null,
      last_update_time: null,
      order_group_id: null,
      subaccount_number: null,
    });
    const answer = (order: unknown) => () => Response.json({ order });
    const ok = await recordingClient(answer(nullable)).client.getOrder("o-1");
    expect(ok.ok && ok.value).toMatchObject({
      filled: 4,
      remaining: 0,
      avgPrice: "0.5500",
      fee: "0.0700",
      status: "executed",
    });
    const pending = await recordingClient(answer({ ...orderFixture(), status: "pending" })).client.getOrder(
      "o-1",
    );
    expect(!pending.ok && pending.error.kind).toBe("invalid_response");
  });

  it("positions and fills page through every cursor", async () => {
    const pages = [
      { market_positions: [{ ticker: "A", position_fp: "1.50" }], event_positions: [], cursor: "c2" },
      { market_positions: [{ ticker: "B", position_fp: "-2.00" }], event_positions: [], cursor: "" },
    ];
    let n = 0;
    const { client, sent } = recordingClient(() => Response.json(pages[n++]));
    const r = await client.positions();
    expect(r.ok && r.value).toEqual([
      { market: "A", position: 1.5 },
      { market: "B", position: -2 },
    ]);
    expect(new URL(sent[1]!.url).searchParams.get("cursor")).toBe("c2");
    expect(new URL(sent[0]!.url).searchParams.get("count_filter")).toBe("position");
  });
});

/** A live Kalshi bid at 0.99 (above any seeded ask, so it fills), approved and submitted. */
async function submitLiveBid(market: string, quantity: number) {
  const i = intent({ strategyId: LIVE, venue: "kalshi", market, limitPrice: "0.9900", quantity });
  const d = await approvedDecision(i);
  return { i, r: await execution().submitOrder(i, d.decisionId, ADMIN) };
}

describe("orders resolved through the venue", () => {
  it("an order whose answer was lost is resolved by a lookup at its fill cost average, not at its limit", async () => {
    await simAdmin("kalshi", "faults", { afterAccept: "error", times: 1 });
    const { i, r } = await submitLiveBid(TICKERS[4]!, 3);
    expect(r.ok && r.value.order.state).toBe("unknown");
    await execution().resolveUnknown(ADMIN);
    const o = await execution().getOrder(i.clientOrderId);
    if (!o.ok) throw new Error(o.error.message);
    expect(o.value.state).toBe("filled");
    // What the venue says it cost, per contract (the simulator fills at the book, under the 0.99 limit).
    const sim = (await (
      await env.VENUE_SIM.fetch("https://api.elections.kalshi.com/__sim/kalshi/orders")
    ).json()) as {
      orders: K.Order[];
    };
    const venue = sim.orders.find((x) => x.client_order_id === i.clientOrderId)!;
    expect(o.value.avgFillPrice).toBe(averageFromFillCost(venue));
    expect(o.value.avgFillPrice).not.toBe("0.9900");
  });

  it("a fractional fill (0.01 granularity) is kept exactly on the order and its fill, and reported to risk as such", async () => {
    await simAdmin("kalshi", "faults", { afterAccept: null, fillCount: "2.50", times: 1 });
    const { i, r } = await submitLiveBid(TICKERS[5]!, 4);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.order.filledQuantity).toBe(2.5);
    expect(r.value.order.state).toBe("cancelled");
    const calls = await risk()._calls();
    // Risk counts hundredths: no failure is reported for a fraction (it was, while risk held whole contracts).
    expect(
      calls.some((c) => c.method === "reportFailure" && String(c.detail).includes(i.clientOrderId)),
    ).toBe(false);
    const mine = (all: ReportedFill[]) => all.filter((f) => f.fill.clientOrderId === i.clientOrderId);
    const fills = mine(await afterOutbox(reportedFills, (all) => mine(all).length > 0));
    expect(fills.map((f) => f.fill.quantity)).toEqual([2.5]);
  });
});
