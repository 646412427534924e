import { exports } from "cloudflare:workers";
import {
  KALSHI_SCALAR_INDEX,
  KALSHI_UNREPRESENTABLE_INDEX,
  kalshiBook,
  kalshiCounts,
  kalshiMarketIndex,
  kalshiMarketIsMve,
  kalshiMarketStatus,
  kalshiMarketWire,
  kalshiTickerAt,
  plantedPairs,
  polymarketUniverse,
  truePairs,
  UNIVERSE_SIZES,
  universeMode,
} from "@paulp/sim-universe";
import { describe, expect, it } from "vitest";

const sim = () => (exports as unknown as { default: Fetcher }).default;
const K = "https://api.elections.kalshi.com/trade-api/v2";
const SEED = 20261124;

interface Page {
  markets: { ticker: string; status: string; mve_collection_ticker?: string; yes_bid_dollars: string }[];
  cursor: string;
}

async function walk(query: string): Promise<{ tickers: string[]; pages: number }> {
  const tickers: string[] = [];
  let cursor = "";
  let pages = 0;
  do {
    const res = await sim().fetch(`${K}/markets?${query}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Page;
    tickers.push(...body.markets.map((m) => m.ticker));
    cursor = body.cursor;
    pages++;
  } while (cursor);
  return { tickers, pages };
}

describe("Kalshi market data", () => {
  it("pages every market exactly once with the cursor, ending with an empty cursor", async () => {
    const { tickers, pages } = await walk("limit=1000");
    expect(new Set(tickers).size).toBe(tickers.length);
    expect(tickers.length).toBe(UNIVERSE_SIZES.small.kalshiMarkets);
    expect(pages).toBe(2);
  });

  it("lists closed, settled, unopened and combination markets unless filtered; status=open&mve_filter=exclude leaves open single markets", async () => {
    const n = UNIVERSE_SIZES.small.kalshiMarkets;
    const statuses = new Set(Array.from({ length: n }, (_, i) => kalshiMarketStatus(SEED, "small", i)));
    expect([...statuses].sort()).toEqual(["active", "closed", "finalized", "initialized"]);
    const mve = Array.from({ length: n }, (_, i) => kalshiMarketIsMve(SEED, "small", i)).filter(
      Boolean,
    ).length;
    expect(mve).toBeGreaterThan(n / 10);
    const { tickers } = await walk("limit=1000&status=open&mve_filter=exclude");
    const expected = Array.from({ length: n }, (_, i) => i).filter(
      (i) => kalshiMarketStatus(SEED, "small", i) === "active" && !kalshiMarketIsMve(SEED, "small", i),
    );
    expect(tickers).toEqual(expected.map((i) => kalshiTickerAt(SEED, i)));
    const only = await walk("limit=1000&mve_filter=only");
    expect(only.tickers.length).toBe(mve);
  });

  it("answers one market, its order book (signed only: see the conformance test) and the exchange status", async () => {
    const ticker = kalshiTickerAt(SEED, 3);
    const one = (await (await sim().fetch(`${K}/markets/${ticker}`)).json()) as {
      market: { ticker: string };
    };
    expect(one.market.ticker).toBe(ticker);
    expect((await sim().fetch(`${K}/markets/${ticker}/orderbook?depth=2`)).status).toBe(401);
    const status = await (await sim().fetch(`${K}/exchange/status`)).json();
    expect(status).toEqual({ exchange_active: true, trading_active: true });
  });

  it("answers Kalshi's error shape for unknown tickers, out-of-range limits, undocumented filters", async () => {
    const missing = await sim().fetch(`${K}/markets/NOPE-1`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "not_found" });
    for (const q of ["limit=5000", "limit=0", "status=active", "mve_filter=include", "category=Politics"]) {
      const bad = await sim().fetch(`${K}/markets?${q}`);
      expect(bad.status, q).toBe(400);
      expect(await bad.json()).toMatchObject({ code: "invalid_parameters" });
    }
    expect((await sim().fetch(`${K}/events?limit=201`)).status).toBe(400);
  });

  it("serves series (the whole list, no cursor) and events (cursor paging, ticker filter)", async () => {
    const list = (await (await sim().fetch(`${K}/series`)).json()) as { series: { ticker: string }[] };
    expect(list.series.length).toBe(kalshiCounts("small").series);
    expect(Object.keys(list)).toEqual(["series"]);
    const m = kalshiMarketWire(SEED, "small", 100, 0);
    const ev = (await (await sim().fetch(`${K}/events?tickers=${m.event_ticker}&limit=200`)).json()) as {
      events: { event_ticker: string; series_ticker: string }[];
      cursor: string;
    };
    expect(ev.events).toHaveLength(1);
    expect(ev.cursor).toBe("");
    const series = (await (await sim().fetch(`${K}/series/${ev.events[0]!.series_ticker}`)).json()) as {
      series: { category: string };
    };
    expect(series.series.category).toBeTypeOf("string");
    let cursor = "";
    let events = 0;
    do {
      const page = (await (
        await sim().fetch(`${K}/events?limit=200${cursor ? `&cursor=${cursor}` : ""}`)
      ).json()) as {
        events: unknown[];
        cursor: string;
      };
      events += page.events.length;
      cursor = page.cursor;
    } while (cursor);
    expect(events).toBeGreaterThan(kalshiCounts("small").events);
  });

  it("plants one market ingestion cannot represent and one scalar market", () => {
    expect(kalshiMarketWire(SEED, "small", KALSHI_UNREPRESENTABLE_INDEX, 0).close_time).toBe("");
    expect(kalshiMarketWire(SEED, "small", KALSHI_SCALAR_INDEX, 0).market_type).toBe("scalar");
    expect(kalshiMarketStatus(SEED, "small", KALSHI_UNREPRESENTABLE_INDEX)).toBe("active");
  });

  it("exports pure lookups the trading simulator can fill against", () => {
    const ticker = kalshiTickerAt(SEED, 42);
    expect(kalshiMarketIndex(SEED, "small", ticker)).toBe(42);
    expect(kalshiBook(SEED, "small", ticker, 0)).toEqual(kalshiBook(SEED, "small", ticker, 30_000));
    expect(kalshiBook(SEED, "small", "UNKNOWN", 0)).toBeNull();
  });

  it("the realistic mode: 50,000 markets, the same planted pairs, prices that move every few seconds", () => {
    expect(universeMode("realistic")).toBe("realistic");
    expect(universeMode(undefined)).toBe("small");
    expect(kalshiCounts("realistic").markets).toBe(50_000);
    const last = kalshiTickerAt(SEED, 49_999, "realistic");
    expect(kalshiMarketIndex(SEED, "realistic", last)).toBe(49_999);
    for (let i = 0; i < 36; i++) expect(kalshiTickerAt(SEED, i, "realistic")).toBe(kalshiTickerAt(SEED, i));
    const t = kalshiTickerAt(SEED, 0, "realistic");
    const prices = new Set(
      Array.from(
        { length: 12 },
        (_, k) => kalshiMarketWire(SEED, "realistic", 0, k * 5_000).last_price_dollars,
      ),
    );
    expect(prices.size).toBeGreaterThan(1);
    expect(kalshiBook(SEED, "realistic", t, 0)).not.toEqual(kalshiBook(SEED, "realistic", t, 5_000));
  });

  it("plants true pairs with the same terms and look-alikes that differ", () => {
    const u = polymarketUniverse(SEED);
    const pairs = plantedPairs(SEED);
    expect(truePairs(SEED).length).toBeGreaterThanOrEqual(20);
    for (const p of pairs) {
      const k = kalshiMarketWire(SEED, "small", kalshiMarketIndex(SEED, "small", p.kalshiTicker)!, 0);
      const pm = u.poly[u.polyByCondition.get(p.polymarketConditionId)!]!;
      if (p.kind === "identical") {
        expect(pm.endDate).toBe(k.close_time);
        expect(pm.description).toBe(k.rules_primary);
      } else {
        expect(pm.endDate === k.close_time && pm.description === k.rules_primary).toBe(false);
      }
    }
  });
});

describe("a request that names the time to answer at (x-venue-sim-at: dev history)", () => {
  const ticker = kalshiTickerAt(SEED, 7);
  const i = kalshiMarketIndex(SEED, "small", ticker)!;
  const market = async (headers: Record<string, string>) => {
    const res = await sim().fetch(`${K}/markets?tickers=${ticker}&limit=1`, { headers });
    expect(res.status).toBe(200);
    return ((await res.json()) as Page).markets[0]!;
  };

  it("is answered as at that time (the prices of that minute), per request", async () => {
    // Minutes in the past, a price bucket (a minute in the small universe) apart: each answered as its own time.
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3_600_000;
    const minutes = Array.from({ length: 30 }, (_, k) => base + k * 60_000);
    const price = (at: number) => kalshiMarketWire(SEED, "small", i, at).yes_bid_dollars;
    // Two past minutes priced differently from each other and from now: a header ignored could not match both.
    const now = price(Date.now());
    const first = minutes.find((at) => price(at) !== now)!;
    const second = minutes.find((at) => price(at) !== now && price(at) !== price(first))!;
    expect(first && second).toBeTruthy();
    for (const at of [first, second]) {
      const m = await market({ "x-venue-sim-at": String(at) });
      expect(m.yes_bid_dollars).toBe(kalshiMarketWire(SEED, "small", i, at).yes_bid_dollars);
    }
  });

  it("ignores a time in the future or malformed (answered now)", async () => {
    const now = Date.now();
    const expected = kalshiMarketWire(SEED, "small", i, now).yes_bid_dollars;
    // Both answered at the wall clock; a bucket boundary between `now` and the answer is the only way to differ.
    for (const header of [String(now + 3_600_000), "yesterday"]) {
      const m = await market({ "x-venue-sim-at": header });
      const after = kalshiMarketWire(SEED, "small", i, Date.now()).yes_bid_dollars;
      expect([expected, after]).toContain(m.yes_bid_dollars);
    }
  });
});
