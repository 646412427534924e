import { type MarketVenue, type Principal, systemPrincipal } from "@paulp/contracts";
import { createEgressFetch, createKalshiSigner } from "@paulp/kit";
import type { TokenBucket } from "./client";
import type { Env } from "./env";
import { type PipelineDeps, venueBuckets } from "./pipeline";

/** The cron's actor in the audit chain. */
export const CRON_ACTOR = systemPrincipal("cron:ingestion");
/**
 * Pages per venue per scheduled run: a pass over thousands of markets spans a few runs. Gamma serves at most 100
 * markets a keyset page (Kalshi 1,000), so Polymarket takes more pages for the same number of markets.
 */
export const CRON_MAX_PAGES: Record<MarketVenue, number> = { kalshi: 5, polymarket: 25 };

// Per-isolate client state: the token buckets outlive a single request so the limits hold across calls.
let buckets: Map<"kalshi" | "polymarket", TokenBucket> | null = null;

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
