import { exports } from "cloudflare:workers";
import { POLYMARKET_MARKET_COUNT } from "@paulp/sim-universe";
import { describe, expect, it } from "vitest";

const sim = () => (exports as unknown as { default: Fetcher }).default;

interface Gamma {
  conditionId: string;
  outcomes: string;
  outcomePrices: string;
  clobTokenIds: string;
}

describe("Polymarket", () => {
  it("gamma /markets is a bare array with JSON-string fields, offset paged", async () => {
    const first = (await (
      await sim().fetch("https://gamma-api.polymarket.com/markets?limit=500&offset=0")
    ).json()) as Gamma[];
    expect(Array.isArray(first)).toBe(true);
    expect(first).toHaveLength(500);
    expect(JSON.parse(first[0]!.outcomes)).toEqual(["Yes", "No"]);
    expect(JSON.parse(first[0]!.clobTokenIds)).toHaveLength(2);
    expect(JSON.parse(first[0]!.outcomePrices)).toHaveLength(2);
    const last = (await (
      await sim().fetch(
        `https://gamma-api.polymarket.com/markets?limit=500&offset=${POLYMARKET_MARKET_COUNT - 10}`,
      )
    ).json()) as Gamma[];
    expect(last).toHaveLength(10);
    const after = (await (
      await sim().fetch(
        `https://gamma-api.polymarket.com/markets?limit=500&offset=${POLYMARKET_MARKET_COUNT}`,
      )
    ).json()) as Gamma[];
    expect(after).toEqual([]);
  });

  it("CLOB book, price and midpoint agree for one token", async () => {
    const [m] = (await (
      await sim().fetch("https://gamma-api.polymarket.com/markets?limit=1")
    ).json()) as Gamma[];
    const yes = JSON.parse(m!.clobTokenIds)[0] as string;
    const book = (await (await sim().fetch(`https://clob.polymarket.com/book?token_id=${yes}`)).json()) as {
      market: string;
      bids: { price: string; size: string }[];
      asks: { price: string; size: string }[];
      tick_size: string;
    };
    expect(book.market).toBe(m!.conditionId);
    expect(book.tick_size).toBe("0.01");
    const bestBid = book.bids.at(-1)!.price;
    const bestAsk = book.asks.at(-1)!.price;
    expect(Number(bestBid)).toBeLessThan(Number(bestAsk));
    const buy = (await (
      await sim().fetch(`https://clob.polymarket.com/price?token_id=${yes}&side=BUY`)
    ).json()) as { price: string };
    expect(buy.price).toBe(bestAsk);
    const mid = (await (
      await sim().fetch(`https://clob.polymarket.com/midpoint?token_id=${yes}`)
    ).json()) as { mid: string };
    expect(Number(mid.mid)).toBeCloseTo((Number(bestBid) + Number(bestAsk)) / 2, 6);
  });

  it("answers Polymarket's error shape", async () => {
    const missing = await sim().fetch("https://clob.polymarket.com/book?token_id=123");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toHaveProperty("error");
    const badSide = await sim().fetch("https://clob.polymarket.com/price?token_id=1&side=UP");
    expect([400, 404]).toContain(badSide.status);
    const noUser = await sim().fetch("https://data-api.polymarket.com/positions?user=bob");
    expect(noUser.status).toBe(400);
    const positions = await sim().fetch(
      `https://data-api.polymarket.com/positions?user=0x${"ab".repeat(20)}`,
    );
    expect(Array.isArray(await positions.json())).toBe(true);
  });
});
