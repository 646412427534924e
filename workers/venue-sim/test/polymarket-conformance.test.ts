// Polymarket conformance: every body the simulator's gamma and CLOB serve is checked against Polymarket's own
// models (`@polymarket/bindings`' zod schemas at run time, plus `@polymarket/clob-client`'s `OrderBookSummary`),
// and walked the way the official SDK pages. At the type level the simulator's builders (@paulp/sim-universe)
// `satisfies` the same models, so a field the models lack fails to compile.
import { exports } from "cloudflare:workers";
import {
  POLYMARKET_SHAPES,
  polymarketBook,
  polymarketMarketWire,
  polymarketUniverse,
} from "@paulp/sim-universe";
import {
  CLOB_PATHS,
  type ClobBookWire,
  clobBookIssues,
  clobMidpointIssues,
  clobPriceIssues,
  type GammaKeysetPageWire,
  type GammaMarketWire,
  gammaKeysetPageIssues,
  gammaMarketListIssues,
  officialKeysetPage,
  officialListMarketsRequest,
} from "@paulp/venue-models";
import { describe, expect, it } from "vitest";
import { DEFAULT_RATE_LIMITS } from "../src/faults";
import { GAMMA_KEYSET_MAX_LIMIT } from "../src/polymarket";

const SEED = 20261124;
const sim = () => (exports as unknown as { default: Fetcher }).default;
const GAMMA = "https://gamma-api.polymarket.com";
const CLOB = "https://clob.polymarket.com";

async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await sim().fetch(url);
  return { status: res.status, body: await res.json() };
}

/** Walk `listMarkets({ closed, pageSize })` as the SDK does: follow `nextCursor` until it is absent. */
async function walk(o: { closed: boolean; pageSize: number }) {
  const pages: { body: GammaKeysetPageWire; ids: string[] }[] = [];
  let cursor: string | undefined;
  do {
    const { path, query } = officialListMarketsRequest({ ...o, ...(cursor ? { cursor } : {}) });
    const { status, body } = await get(`${GAMMA}${path}?${query}`);
    expect(status).toBe(200);
    expect(gammaKeysetPageIssues(body)).toEqual([]);
    const page = officialKeysetPage(body);
    pages.push({ body: body as GammaKeysetPageWire, ids: page.ids });
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 200);
  return pages;
}

/** The open markets walked once (each page checked), shared by the tests that read them. */
let openWalk: ReturnType<typeof walk> | undefined;
const walkOpen = () => {
  openWalk ??= walk({ closed: false, pageSize: 500 });
  return openWalk;
};

describe("Polymarket gamma conforms to Polymarket's bindings", () => {
  it("keyset pages as the SDK expects: clamped limit, opaque cursor, no next_cursor on the last page", async () => {
    const open = polymarketUniverse(SEED).poly.filter((m) => !m.closed);
    const pages = await walkOpen();
    // 500 asked, 100 served: every page but the last is "short", and still not the last.
    expect(pages.length).toBe(Math.ceil(open.length / GAMMA_KEYSET_MAX_LIMIT));
    for (const p of pages.slice(0, -1)) {
      expect(p.body.markets).toHaveLength(GAMMA_KEYSET_MAX_LIMIT);
      expect(p.body.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect("next_cursor" in pages.at(-1)!.body).toBe(false);
    const served = pages.flatMap((p) => p.body.markets.map((m) => m.id));
    expect(served).toEqual(open.map((m) => m.id));
    expect(pages.flatMap((p) => p.body.markets).some((m) => m.closed)).toBe(false);
  });

  it("serves the quirks the bindings allow: null, empty and absent fields, prices as strings and numbers", async () => {
    const pages = await walkOpen();
    const markets = pages.flatMap((p) => p.body.markets);
    const has = (f: (m: GammaMarketWire) => boolean) => markets.some(f);
    expect(has((m) => m.question === null)).toBe(true);
    expect(has((m) => m.question === "")).toBe(true);
    expect(has((m) => !("question" in m))).toBe(true);
    expect(has((m) => m.conditionId === null)).toBe(true);
    expect(has((m) => m.conditionId === "")).toBe(true);
    expect(has((m) => m.outcomes === null)).toBe(true);
    expect(has((m) => m.outcomes === "[]")).toBe(true);
    expect(has((m) => m.outcomes === '["Up","Down"]')).toBe(true);
    for (const field of ["bestBid", "bestAsk", "lastTradePrice"] as const) {
      expect(has((m) => typeof m[field] === "string")).toBe(true);
      expect(has((m) => typeof m[field] === "number")).toBe(true);
      expect(has((m) => m[field] === null)).toBe(true);
      expect(has((m) => !(field in m))).toBe(true);
    }
    // The SDK itself skips what its binary model cannot hold (no outcomes) and keeps the rest.
    const sdkIds = pages.flatMap((p) => p.ids);
    expect(sdkIds.length).toBe(markets.filter((m) => m.outcomes !== null && m.outcomes !== "[]").length);
  });

  it("closed=true lists the closed markets only", async () => {
    const pages = await walk({ closed: true, pageSize: 100 });
    const all = pages.flatMap((p) => p.body.markets);
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((m) => m.closed === true)).toBe(true);
  });

  it("refuses what a keyset endpoint refuses: offset, a cursor it did not mint, a zero limit", async () => {
    expect((await get(`${GAMMA}/markets/keyset?limit=10&offset=10`)).status).toBe(422);
    expect((await get(`${GAMMA}/markets/keyset?limit=10&after_cursor=%25%25`)).status).toBe(422);
    expect((await get(`${GAMMA}/markets/keyset?limit=0`)).status).toBe(422);
    const bad = await get(`${GAMMA}/markets/keyset?offset=1`);
    expect(bad.body).toEqual({ error: expect.any(String) });
  });

  it("the legacy offset list is a bare array of the same markets", async () => {
    const { status, body } = await get(`${GAMMA}/markets?limit=500&offset=0`);
    expect(status).toBe(200);
    expect(gammaMarketListIssues(body)).toEqual([]);
    expect(body).toHaveLength(500);
  });

  it("a field Polymarket's model lacks does not compile", () => {
    // @ts-expect-error `inventedField` is not in the bindings' GammaMarketSchema.
    const market = { id: "1", inventedField: 1 } satisfies GammaMarketWire;
    // @ts-expect-error `total` is not in ListMarketsKeysetResponseSchema.
    const page = { markets: [], total: 3 } satisfies GammaKeysetPageWire;
    const book = {
      market: "0x",
      asset_id: "1",
      timestamp: "1",
      bids: [],
      asks: [],
      min_order_size: "5",
      tick_size: "0.01",
      neg_risk: false,
      last_trade_price: "0.5",
      hash: "0".repeat(40),
      // @ts-expect-error `depth` is not in clob-client's OrderBookSummary.
      depth: 5,
    } satisfies ClobBookWire;
    expect([market, page, book]).toHaveLength(3);
  });
});

describe("Polymarket CLOB conforms to clob-client and the bindings", () => {
  it("book, price and midpoint for many tokens", async () => {
    const u = polymarketUniverse(SEED);
    const tokens = [...u.polyByToken.keys()].filter((_, i) => i % 331 === 0).slice(0, 12);
    expect(tokens.length).toBe(12);
    for (const token of tokens) {
      const book = await get(`${CLOB}${CLOB_PATHS.book}?token_id=${token}`);
      expect(book.status).toBe(200);
      expect(clobBookIssues(book.body)).toEqual([]);
      const price = await get(`${CLOB}${CLOB_PATHS.price}?token_id=${token}&side=BUY`);
      expect(clobPriceIssues(price.body)).toEqual([]);
      const mid = await get(`${CLOB}${CLOB_PATHS.midpoint}?token_id=${token}`);
      expect(clobMidpointIssues(mid.body)).toEqual([]);
    }
  });

  it("a book's market is the condition id gamma lists for its token", async () => {
    const u = polymarketUniverse(SEED);
    const m = u.poly.find((x) => !x.quirks.conditionId && !x.quirks.outcomes)!;
    const { body } = await get(`${CLOB}/book?token_id=${m.clobTokenIds[0]}`);
    expect((body as ClobBookWire).market).toBe(m.conditionId);
    expect((body as ClobBookWire).asset_id).toBe(m.clobTokenIds[0]);
  });

  it("a market whose outcomes are not listed has no book", async () => {
    const u = polymarketUniverse(SEED);
    const m = u.poly.find((x) => x.quirks.outcomes === "null")!;
    expect((await get(`${CLOB}/book?token_id=${m.clobTokenIds[0]}`)).status).toBe(404);
  });
});

describe("the Polymarket universe", () => {
  it("realistic: 5,000 markets, open and closed, quirks included, every body conforming", () => {
    const shape = POLYMARKET_SHAPES.realistic;
    const u = polymarketUniverse(SEED, shape);
    expect(u.poly).toHaveLength(5_000);
    const closed = u.poly.filter((m) => m.closed).length;
    expect(closed).toBeGreaterThan(800);
    expect(closed).toBeLessThan(1_200);
    const now = Date.UTC(2026, 10, 24, 12);
    // Every quirky market, and a tidy one in twenty (the builder is the same for all).
    const sample = u.poly.filter((m, j) => j % 20 === 0 || Object.keys(m.quirks).length > 1);
    const issues = gammaKeysetPageIssues({
      markets: sample.map((m) => polymarketMarketWire(SEED, m, now, shape)),
    });
    expect(issues).toEqual([]);
    expect(u.poly.filter((m) => m.quirks.question).length).toBeGreaterThan(100);
  });

  it("realistic prices move every few seconds; small ones once a minute", () => {
    const at = Date.UTC(2026, 10, 24, 12);
    const moved = (shape: (typeof POLYMARKET_SHAPES)[keyof typeof POLYMARKET_SHAPES], dt: number) => {
      const u = polymarketUniverse(SEED, shape);
      return u.poly
        .slice(0, 200)
        .filter(
          (m) =>
            polymarketMarketWire(SEED, m, at, shape).lastTradePrice !==
            polymarketMarketWire(SEED, m, at + dt, shape).lastTradePrice,
        ).length;
    };
    expect(moved(POLYMARKET_SHAPES.realistic, 5_000)).toBeGreaterThan(100);
    expect(moved(POLYMARKET_SHAPES.small, 5_000)).toBe(0);
    expect(moved(POLYMARKET_SHAPES.small, 60_000)).toBeGreaterThan(100);
    const token = polymarketUniverse(SEED, POLYMARKET_SHAPES.realistic).poly[0]!.clobTokenIds[0];
    expect(polymarketBook(SEED, token, at, POLYMARKET_SHAPES.realistic)).not.toEqual(
      polymarketBook(SEED, token, at + 5_000, POLYMARKET_SHAPES.realistic),
    );
  });

  it("the planted pairs are tidy markets in both shapes", () => {
    for (const shape of Object.values(POLYMARKET_SHAPES)) {
      const u = polymarketUniverse(SEED, shape);
      for (const m of u.poly.slice(0, 36)) {
        expect(m.quirks).toEqual({ prices: "number" });
        expect(m.closed).toBe(false);
      }
    }
  });

  it("the simulator's limits are Polymarket's documented ones (per 10 s: gamma /markets 300, CLOB /book 1,500)", () => {
    expect(DEFAULT_RATE_LIMITS["polymarket-gamma"]).toEqual({ capacity: 300, refillPerSecond: 30 });
    expect(DEFAULT_RATE_LIMITS["polymarket-clob"]).toEqual({ capacity: 1500, refillPerSecond: 150 });
  });
});
