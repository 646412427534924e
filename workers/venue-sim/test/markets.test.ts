import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  KALSHI_MARKET_COUNT,
  kalshiBook,
  kalshiMarketByTicker,
  plantedPairs,
  truePairs,
  universe,
} from "../src/data/universe";

const sim = () => (exports as unknown as { default: Fetcher }).default;
const K = "https://api.elections.kalshi.com/trade-api/v2";
const SEED = 20261124;

describe("Kalshi market data", () => {
  it("pages every market exactly once with the cursor, ending with an empty cursor", async () => {
    const seen = new Set<string>();
    let cursor = "";
    let pages = 0;
    do {
      const res = await sim().fetch(`${K}/markets?limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        markets: { ticker: string; yes_bid_dollars: string }[];
        cursor: string;
      };
      for (const m of body.markets) {
        expect(seen.has(m.ticker)).toBe(false);
        expect(m.yes_bid_dollars).toMatch(/^\d\.\d{4}$/);
        seen.add(m.ticker);
      }
      cursor = body.cursor;
      pages++;
      // Stay under the simulated 20 req/s bucket.
      await new Promise((r) => setTimeout(r, 60));
    } while (cursor);
    expect(pages).toBe(10);
    expect(seen.size).toBe(KALSHI_MARKET_COUNT);
  });

  it("answers one market, its order book and the exchange status", async () => {
    const ticker = universe(SEED).kalshi[3]!.ticker;
    const one = (await (await sim().fetch(`${K}/markets/${ticker}`)).json()) as {
      market: { ticker: string };
    };
    expect(one.market.ticker).toBe(ticker);
    const book = (await (await sim().fetch(`${K}/markets/${ticker}/orderbook?depth=2`)).json()) as {
      orderbook_fp: { yes_dollars: [string, string][]; no_dollars: [string, string][] };
    };
    expect(book.orderbook_fp.yes_dollars).toHaveLength(2);
    // Best YES bid (last level) is below the best YES ask implied by 1 − best NO bid.
    const bestYes = Number(book.orderbook_fp.yes_dollars.at(-1)![0]);
    const impliedAsk = 1 - Number(book.orderbook_fp.no_dollars.at(-1)![0]);
    expect(bestYes).toBeLessThan(impliedAsk);
    const status = await (await sim().fetch(`${K}/exchange/status`)).json();
    expect(status).toEqual({ exchange_active: true, trading_active: true });
  });

  it("answers Kalshi's error shape for unknown tickers and bad limits", async () => {
    const missing = await sim().fetch(`${K}/markets/NOPE-1`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "not_found" });
    const bad = await sim().fetch(`${K}/markets?limit=5000`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "invalid_parameters" });
  });

  it("exports pure lookups the trading simulator can fill against", () => {
    const ticker = universe(SEED).kalshi[42]!.ticker;
    expect(kalshiMarketByTicker(SEED, ticker, 0)).toMatchObject({ ticker });
    expect(kalshiBook(SEED, ticker, 0)).toEqual(kalshiBook(SEED, ticker, 30_000));
    expect(kalshiBook(SEED, "UNKNOWN", 0)).toBeNull();
  });

  it("plants true pairs with the same terms and look-alikes that differ", () => {
    const u = universe(SEED);
    const pairs = plantedPairs(SEED);
    expect(truePairs(SEED).length).toBeGreaterThanOrEqual(20);
    for (const p of pairs) {
      const k = u.kalshi[u.kalshiByTicker.get(p.kalshiTicker)!]!;
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
