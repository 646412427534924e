import { type MarketVenue, type Principal, systemPrincipal } from "@paulp/contracts";
import { createEgressFetch, createKalshiSigner } from "@paulp/kit";
import { TokenBucket } from "./client";
import type { Env } from "./env";
import { type PipelineDeps, venueBuckets } from "./pipeline";

/** The cron's actor in the audit chain. */
export const CRON_ACTOR = systemPrincipal("cron:ingestion");
/**
 * Pages per venue per scheduled run: a pass over thousands of markets spans a few runs. Gamma serves at most 100
 * markets a keyset page (Kalshi 1,000), so Polymarket takes more pages for the same number of markets.
 */
export const CRON_MAX_PAGES: Record<MarketVenue, number> = { kalshi: 5, polymarket: 25 };

/** The fast path's actor in the audit chain (its reads are asked for by execution's fast path). */
export const FAST_PATH_ACTOR = systemPrincipal("ingestion:fast-path");

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

// Per-isolate client state: the token buckets outlive a single request so the limits hold across calls.
let buckets: Map<"kalshi" | "polymarket", TokenBucket> | null = null;
let fastBuckets: Map<MarketVenue, TokenBucket> | null = null;

/** The fast path's buckets (one set per isolate). */
export function fastPathBuckets(): Map<MarketVenue, TokenBucket> {
  fastBuckets ??= new Map(
    (Object.keys(FAST_PATH_RATE) as MarketVenue[]).map((v) => [
      v,
      new TokenBucket(FAST_PATH_RATE[v].capacity, FAST_PATH_RATE[v].refillPerSecond, Date.now()),
    ]),
  );
  return fastBuckets;
}

/** Build the pipeline's dependencies from the bindings. */
export function depsFromEnv(env: Env, actor: Principal): PipelineDeps {
  buckets ??= venueBuckets(Date.now());
  return {
    db: env.D1_MARKETS,
    bucket: env.R2_EVIDENCE,
    audit: env.AUDIT,
    risk: env.RISK,
    governance: env.GOVERNANCE,
    fetch: createEgressFetch({
      simulator: env.VENUE_SIM,
      timeoutMs: 15_000,
      onError: (kind, host) => console.warn(`ingestion egress ${kind} for ${host}`),
    }),
    buckets,
    now: Date.now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    random: Math.random,
    actor,
    kalshiSigner: createKalshiSigner({
      keyId: env.KALSHI_READ_API_KEY,
      privateKeyPem: env.KALSHI_READ_PRIVATE_KEY,
      now: Date.now,
    }),
  };
}
