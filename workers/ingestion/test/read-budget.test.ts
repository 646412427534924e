import { seededRandom } from "@paulp/kit";
import { describe, expect, it } from "vitest";
import { fetchWithEvidence, TokenBucket } from "../src/client";
import { VENUE_RATE } from "../src/deps";
import { FAST_PATH_RATE, KALSHI_READ_BUDGET, sharedReadBucket } from "../src/read-budget";
import { tenv } from "./helpers";

type Rate = { capacity: number; refillPerSecond: number };

/**
 * When each read of one client reaches the venue: the client asks at the given times (in order), takes a token
 * from its own bucket and sends once the bucket says so, as `fetchWithEvidence` does.
 */
function sendTimes(rate: Rate, askedAt: number[]): number[] {
  const bucket = new TokenBucket(rate.capacity, rate.refillPerSecond, 0);
  return askedAt.map((t) => t + bucket.take(t));
}

/** How many of these reads (any order) a venue bucket of `budget`, full at 0, answers 429. */
function refusedByVenue(budget: Rate, sent: number[]): number {
  let tokens = budget.capacity;
  let at = 0;
  let refused = 0;
  for (const t of [...sent].sort((a, b) => a - b)) {
    tokens = Math.min(budget.capacity, tokens + ((t - at) / 1000) * budget.refillPerSecond);
    at = t;
    // A hair of slack for the float sums of many refills.
    if (tokens < 1 - 1e-9) refused++;
    else tokens -= 1;
  }
  return refused;
}

/** Asks of one client: bursts of up to `burst` at one instant, then a pause, over a minute. */
function asks(random: () => number, burst: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < 60_000; t += Math.floor(random() * 3_000)) {
    const n = 1 + Math.floor(random() * burst);
    for (let i = 0; i < n; i++) out.push(t);
  }
  return out;
}

/** The most 429s over many random interleavings of the crawl's and the fast path's reads. */
function worstRefusals(crawl: Rate, fast: Rate): number {
  let worst = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const random = seededRandom(seed);
    const sent = [...sendTimes(crawl, asks(random, 25)), ...sendTimes(fast, asks(random, 25))];
    worst = Math.max(worst, refusedByVenue(KALSHI_READ_BUDGET, sent));
  }
  return worst;
}

describe("Kalshi read budget: the crawl and the fast path together", () => {
  it("stay under the venue's bucket in depth and in rate", () => {
    expect(VENUE_RATE.kalshi.capacity + FAST_PATH_RATE.kalshi.capacity).toBeLessThanOrEqual(
      KALSHI_READ_BUDGET.capacity,
    );
    expect(VENUE_RATE.kalshi.refillPerSecond + FAST_PATH_RATE.kalshi.refillPerSecond).toBeLessThan(
      KALSHI_READ_BUDGET.refillPerSecond,
    );
  });

  it("are never refused, however their bursts interleave", () => {
    expect(worstRefusals(VENUE_RATE.kalshi, FAST_PATH_RATE.kalshi)).toBe(0);
  });

  it("would be refused with the fast path's former depth of 25 (the soak's 429s)", () => {
    expect(worstRefusals(VENUE_RATE.kalshi, { capacity: 25, refillPerSecond: 5 })).toBeGreaterThan(0);
  });

  it("still reads a tick's 25 books within the 5 s tick", () => {
    const sent = sendTimes(
      FAST_PATH_RATE.kalshi,
      Array.from({ length: 25 }, () => 0),
    );
    expect(Math.max(...sent)).toBeLessThan(5_000);
  });
});

describe("the read budget is one per venue for the whole account (a Durable Object), not one per isolate", () => {
  it("two clients built apart (as two isolates would be) draw on the same crawl share; the fast share is apart", async () => {
    const a = sharedReadBucket(tenv.READ_BUDGET, "kalshi", "crawl");
    const b = sharedReadBucket(tenv.READ_BUDGET, "kalshi", "crawl");
    // Spend the share from both clients in turn until it says wait: at most its depth (plus the refill meanwhile).
    let free = 0;
    for (let i = 0; (await (i % 2 ? a : b).take(0)) === 0; i++) free++;
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThan(VENUE_RATE.kalshi.capacity + VENUE_RATE.kalshi.refillPerSecond);
    // Spent for both: the next read from either client waits.
    expect(await a.take(0)).toBeGreaterThan(0);
    expect(await b.take(0)).toBeGreaterThan(0);
    // The fast path's share is its own.
    expect(await sharedReadBucket(tenv.READ_BUDGET, "kalshi", "fast").take(0)).toBe(0);
    // Another venue's budget is another object.
    expect(await sharedReadBucket(tenv.READ_BUDGET, "polymarket", "crawl").take(0)).toBe(0);
  });

  it("a budget that cannot be asked reads nothing (fail closed on the venue's limit)", async () => {
    let fetched = 0;
    const outcome = await fetchWithEvidence("https://api.elections.kalshi.com/trade-api/v2/markets", {
      fetch: async () => {
        fetched++;
        return new Response("{}");
      },
      bucket: {
        take: () => Promise.reject(new Error("budget object unreachable")),
      },
      capture: async () => "0".repeat(64),
      now: () => 0,
      sleep: async () => {},
      random: () => 0.5,
    });
    expect(outcome).toMatchObject({ ok: false, kind: "budget_unavailable", attempts: 0 });
    expect(fetched).toBe(0);
  });
});
