import { DurableObject } from "cloudflare:workers";
import type { MarketVenue } from "@paulp/contracts";
import { type ReadBucket, TokenBucket } from "./client";
import { VENUE_RATE } from "./deps";
import type { Env } from "./env";

/**
 * Kalshi's read budget as we read it (docs/venues.md, "Rate limits"): the Basic tier's 200 tokens/s at 10 tokens
 * a read is 20 reads/s; the bucket's depth is not published, so we take the strictest reading, one second's worth.
 * Every Kalshi read of this worker draws on one of two client buckets, the crawl's (`VENUE_RATE`) and the fast
 * path's (`FAST_PATH_RATE`): together their depths and their refills stay under this budget, so neither a burst of
 * both at once nor both running flat out can be answered 429 (test/read-budget.test.ts drives both).
 */
export const KALSHI_READ_BUDGET = { capacity: 20, refillPerSecond: 20 } as const;

/**
 * The fast path's read rates, beside the crawl's (`VENUE_RATE`, 10/s Kalshi, 20/s Polymarket gamma), under the
 * venues' documented limits (docs/venues.md): Kalshi 5/s (15/s together) with a depth of 8 (18 together, a margin
 * under `KALSHI_READ_BUDGET` for requests that reach the venue out of order), which still reads the 25 books a
 * 5 s tick plans within 3.4 s; Polymarket CLOB `GET /book` 1,500 per 10 s, so 10/s here (the crawl reads gamma,
 * another limit).
 */
export const FAST_PATH_RATE: Record<MarketVenue, { capacity: number; refillPerSecond: number }> = {
  kalshi: { capacity: 8, refillPerSecond: 5 },
  polymarket: { capacity: 50, refillPerSecond: 10 },
};

/** Who is reading: the metadata crawl or the fast path (each has its own share of the venue's budget). */
export type ReadShare = "crawl" | "fast";

const RATES: Record<ReadShare, Record<MarketVenue, { capacity: number; refillPerSecond: number }>> = {
  crawl: VENUE_RATE,
  fast: FAST_PATH_RATE,
};

/**
 * A venue's read budget for the whole account, not per isolate: Cloudflare may run several isolates of this worker
 * at once (the cron's, the fast path's RPCs), and a bucket in module state would be one per isolate. One object per
 * venue (`idFromName(venue)`) holds both shares' token buckets; every read takes its token here first. A thin shell
 * over `TokenBucket` (pure): it answers how long the reader must wait, and the reader waits.
 */
export class ReadBudget extends DurableObject<Env> {
  private buckets = new Map<ReadShare, TokenBucket>();

  /** Take one read token of `share` for `venue`; the ms to wait before reading (0: read now). */
  async take(venue: MarketVenue, share: ReadShare): Promise<number> {
    let bucket = this.buckets.get(share);
    if (!bucket) {
      const rate = RATES[share][venue];
      bucket = new TokenBucket(rate.capacity, rate.refillPerSecond, Date.now());
      this.buckets.set(share, bucket);
    }
    return bucket.take(Date.now());
  }
}

/** The client-side bucket of `share` for `venue`, backed by the venue's one `ReadBudget` object. */
export function sharedReadBucket(
  namespace: DurableObjectNamespace<ReadBudget>,
  venue: MarketVenue,
  share: ReadShare,
): ReadBucket {
  const stub = namespace.get(namespace.idFromName(venue));
  return { take: () => stub.take(venue, share) };
}
