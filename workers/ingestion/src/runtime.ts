import { type MarketVenue, type Principal, systemPrincipal } from "@paulp/contracts";
import { createEgressFetch, createKalshiSigner } from "@paulp/kit";
import type { ReadBucket } from "./client";
import type { PipelineDeps } from "./deps";
import type { Env } from "./env";
import { fetchLogRetention } from "./fetch-log";
import { type ReadShare, sharedReadBucket } from "./read-budget";

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
 * The fast path's reads take their tokens from the fast share of each venue's one `ReadBudget` object, so they never
 * wait behind the crawl's (nor take its share), and the budget holds across isolates.
 */
export function fastPathBuckets(env: Env): Map<MarketVenue, ReadBucket> {
  return sharedBuckets(env, "fast");
}

function sharedBuckets(env: Env, share: ReadShare): Map<MarketVenue, ReadBucket> {
  return new Map(
    (["kalshi", "polymarket"] as const).map((v) => [v, sharedReadBucket(env.READ_BUDGET, v, share)]),
  );
}

/** Build the pipeline's dependencies from the bindings. */
export function depsFromEnv(env: Env, actor: Principal): PipelineDeps {
  const retention = fetchLogRetention(env.FETCH_LOG_RETENTION_DAYS);
  if (retention.refused) console.warn(`ingestion: ${retention.refused}`);
  return {
    fetchLogRetentionMs: retention.ms,
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
    buckets: sharedBuckets(env, "crawl"),
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
