import { describe, expect, it } from "vitest";
import { TokenBucket } from "../src/client";
import { VENUE_RATE } from "../src/pipeline";
import { FAST_PATH_RATE, KALSHI_READ_BUDGET } from "../src/runtime";

type Rate = { capacity: number; refillPerSecond: number };

/** A small seeded generator, so a failing sequence can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
    const random = mulberry32(seed);
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
