// The circuit breaker's contract: its states, the failures it counts, a requested transition, its status and
// history, and what the audit integrity watch reports to it (apart from risk.ts, which decides orders).
import * as v from "valibot";
import { IntFrom } from "./fields";
import { FreeText } from "./free-text";

/** The circuit breaker's states. */
export const BreakerState = v.picklist(["NORMAL", "CAUTION", "HALT", "RECOVERY"]);
/** A circuit breaker state. */
export type BreakerState = v.InferOutput<typeof BreakerState>;

/** Failure sources the breaker counts. */
export const FailureKind = v.picklist([
  // Market-data calls (ingestion); reset by ingestion's successful runs.
  "venue_api_error",
  // Trading calls (execution: orders, cancels, positions); reset only by execution's own successes, so a
  // healthy market-data feed cannot hide a venue refusing our orders.
  "venue_order_error",
  "invariant_violation",
  "audit_failure",
  "reconciliation_drift",
  "audit_integrity_broken",
  // The hourly anchor is missing: the oldest unanchored entry is past 90 minutes (risk's audit watch reports it
  // each run while it lasts, and its success when anchoring has caught up).
  "audit_anchor_overdue",
]);
/** A failure source the breaker counts. */
export type FailureKind = v.InferOutput<typeof FailureKind>;

/**
 * The body of the specification's emergency procedure: `{ "targetState": "HALT", "reason": "…" }`. Every other
 * target also names `expectedVersion`, the breaker version it acts on (refused without it).
 */
export const BreakerTransitionRequest = v.object({
  targetState: BreakerState,
  reason: FreeText(500, 1),
  expectedVersion: v.optional(IntFrom(0)),
});
/** A requested breaker transition. */
export type BreakerTransitionRequest = v.InferOutput<typeof BreakerTransitionRequest>;

/** The breaker's current state. `thresholds` are the consecutive failures per kind that send it to HALT. */
export interface BreakerStatus {
  state: BreakerState;
  version: number;
  since: string;
  reason: string;
  /** Who made the last transition (`system:risk` for automatic ones). */
  changedBy: string;
  consecutiveFailures: Record<string, number>;
  thresholds: Record<string, number>;
  /** Consecutive failures per kind that send NORMAL to CAUTION. */
  cautionThresholds: Record<string, number>;
}

/** What the audit integrity watch found: the chain intact, broken (at a seq), or not answering. */
export type AuditWatchOutcome =
  | {
      verdict: "intact";
      checkedEntries: number;
      /** The hourly anchor is missing (reported to the breaker as `audit_anchor_overdue`). */
      anchorOverdue?: boolean;
      /** Stored audit receipts checked against the chain this run. */
      receiptsChecked?: number;
    }
  | { verdict: "broken"; brokenSeq: number | null; reason: string }
  | { verdict: "unavailable"; reason: string };

/** One breaker transition as the breaker keeps it (the newest few hundred; the audit chain has them all). */
export interface BreakerTransitionRecord {
  from: BreakerState;
  to: BreakerState;
  /** The breaker version after the transition. */
  version: number;
  at: string;
  reason: string;
  /** `operator`, `failure:<kind>`, `loss_limit`. */
  trigger: string;
  changedBy: string;
}
