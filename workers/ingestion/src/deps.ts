// What every ingestion run is given (PipelineDeps: bindings, clock, randomness, passed in) and what it shares:
// the venues' read buckets, the error tally, the audit append and a bounded call to a peer.
import type {
  AuditEventType,
  AuditPayload,
  AuditService,
  GovernanceService,
  MarketVenue,
  Principal,
  Result,
  RiskService,
} from "@paulp/contracts";
import { auditAppend, type EgressFetch, type KalshiSigner, rpc } from "@paulp/kit";
import { type ClientOptions, type ReadBucket, TokenBucket } from "./client";
import type { ComplianceAgent } from "./compliance";

/** Everything a run needs, passed in (bindings, clock, randomness) so the pipeline is testable as values. */
export interface PipelineDeps {
  db: D1Database;
  bucket: R2Bucket;
  audit: AuditService;
  risk?: RiskService | undefined;
  governance?: GovernanceService | undefined;
  fetch: EgressFetch;
  /** Where each venue's reads take their tokens (the shared `ReadBudget` in the worker; plain buckets in tests). */
  buckets: Map<MarketVenue, ReadBucket>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  actor: Principal;
  agent?: ComplianceAgent;
  client?: Partial<Pick<ClientOptions, "maxAttempts" | "baseDelayMs" | "maxRetryAfterMs" | "maxBodyBytes">>;
  /** Runs follow-up work after the answer (ctx.waitUntil); absent → awaited inline. */
  defer?: (work: Promise<unknown>) => void;
  /** How long a call to risk or governance may take before it is logged as failed. */
  peerTimeoutMs?: number;
  /**
   * Ingestion's own read-only Kalshi key (KALSHI_READ_API_KEY / KALSHI_READ_PRIVATE_KEY), never execution's:
   * it signs the reads the spec marks authenticated (the order book). Absent: those reads go unsigned.
   */
  kalshiSigner?: KalshiSigner | null;
  /** How long the fetch log keeps a fetch (fetch-log.ts; DEFAULT_FETCH_LOG_RETENTION_DAYS unless set). */
  fetchLogRetentionMs?: number;
  /** How often a full Kalshi pass starts (KALSHI_FULL_PASS_EVERY_MS unless set; 0: every pass is full). */
  fullPassEveryMs?: number;
}

/** Per-venue client limits, under the venues' published read limits. */
export const VENUE_RATE: Record<MarketVenue, { capacity: number; refillPerSecond: number }> = {
  kalshi: { capacity: 10, refillPerSecond: 10 },
  polymarket: { capacity: 20, refillPerSecond: 20 },
};

/** A fresh bucket set for one isolate. */
export function venueBuckets(now: number): Map<MarketVenue, TokenBucket> {
  return new Map(
    (Object.keys(VENUE_RATE) as MarketVenue[]).map((v) => [
      v,
      new TokenBucket(VENUE_RATE[v].capacity, VENUE_RATE[v].refillPerSecond, now),
    ]),
  );
}

/** Error counts of one run, by kind. */
export class Tally {
  errors: Record<string, number> = {};
  add(kind: string, n = 1): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + n;
  }
}

/** Append one ingestion event; a failure is logged and counted in the run's `tally` (work outside a run has none). */
export async function audit<T extends AuditEventType<"ingestion">>(
  deps: Pick<PipelineDeps, "audit" | "actor">,
  tally: Tally | null,
  type: T,
  payload: AuditPayload<"ingestion", T>,
): Promise<boolean> {
  const r = await auditAppend(deps.audit, { type, service: "ingestion", actor: deps.actor, payload });
  if (!r.ok) {
    tally?.add("audit_failed");
    console.warn(`ingestion: audit ${type} failed: ${r.error.code}`);
  }
  return r.ok;
}

/** Call risk or governance, bounded in time; a failure is logged, never fatal. Answers whether it went through. */
export async function callPeer(
  deps: PipelineDeps,
  what: string,
  call: () => Promise<Result<unknown>>,
  bound: boolean,
): Promise<boolean> {
  if (!bound) return false;
  const r = await rpc(call, { what, timeoutMs: deps.peerTimeoutMs ?? 5_000 });
  if (!r.ok)
    console.warn(`ingestion: ${what} failed (logged, not fatal): ${r.error.code}: ${r.error.message}`);
  return r.ok;
}
