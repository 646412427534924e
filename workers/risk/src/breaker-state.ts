// The circuit breaker's stored state and how it is shown: what the CircuitBreaker Durable Object loads once and
// keeps in memory. The rules of its transitions are @paulp/risk-rules' (breaker.ts); the clock is passed in.
import type { AuditEvent, BreakerStatus, BreakerTransitionRecord } from "@paulp/contracts";
import { type BreakerRecord, initialBreaker, type Thresholds } from "@paulp/risk-rules";

/** A breaker transition as the chain records it (kept in the outbox until appended). */
export type BreakerAuditEvent = AuditEvent<"risk", "risk.breaker_transition">;

/** Everything the breaker keeps, one storage key each. */
export interface StoredBreaker {
  record: BreakerRecord;
  /** Transitions applied (tightening) whose audit append waits, oldest first. */
  outbox: BreakerAuditEvent[];
  /** The newest transitions, oldest first. */
  history: BreakerTransitionRecord[];
  /** Every transition so far, counted by `FROM->TO`. */
  transitionCounts: Record<string, number>;
}

/** The stored state; a breaker never stored starts NORMAL at `now` (epoch ms). */
export async function loadBreaker(storage: DurableObjectStorage, now: number): Promise<StoredBreaker> {
  const stored = await storage.get(["breaker", "outbox", "history", "transition_counts"]);
  return {
    record:
      (stored.get("breaker") as BreakerRecord | undefined) ?? initialBreaker(new Date(now).toISOString()),
    outbox: (stored.get("outbox") as BreakerAuditEvent[] | undefined) ?? [],
    history: (stored.get("history") as BreakerTransitionRecord[] | undefined) ?? [],
    transitionCounts: (stored.get("transition_counts") as Record<string, number> | undefined) ?? {},
  };
}

/** The breaker as its callers see it: the record with the thresholds in force. */
export function breakerStatus(record: BreakerRecord, limits: Thresholds): BreakerStatus {
  const thresholds: Record<string, number> = {};
  const cautionThresholds: Record<string, number> = {};
  for (const [kind, t] of Object.entries(limits)) {
    thresholds[kind] = t.halt;
    cautionThresholds[kind] = t.caution;
  }
  return {
    state: record.state,
    version: record.version,
    since: record.since,
    reason: record.reason,
    changedBy: record.changedBy,
    consecutiveFailures: { ...record.consecutiveFailures } as Record<string, number>,
    thresholds,
    cautionThresholds,
  };
}
