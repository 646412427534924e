// What the rules read and say: one evaluation's snapshot of the signals, an observation per alert key, and what
// they remember between evaluations. Pure (src/rules.ts runs the rules).
import type {
  AdminAuditOutboxReport,
  AlertKind,
  AlertSeverity,
  AuditStatus,
  ExecutionMonitorStats,
  IngestionStatus,
  RiskMonitorStats,
} from "@paulp/contracts";

/** The workers a signal is read from; an alert belongs to the source its signal comes from. */
export type Source = "risk" | "audit" | "ingestion" | "execution";

/**
 * Ingestion's status as the rules read it. An ingestion deployed before the evidence index audit reports no
 * `evidenceIndex`: the monitor reads that as null (src/signals.ts), so each rule and series tolerates it in one way.
 */
export type IngestionSignal = Omit<IngestionStatus, "evidenceIndex"> & {
  evidenceIndex: IngestionStatus["evidenceIndex"] | null;
};

/** Everything one evaluation read; a source that did not answer is null and named in `unavailable`. */
export interface Snapshot {
  atMs: number;
  risk: RiskMonitorStats | null;
  audit: AuditStatus | null;
  ingestion: IngestionSignal | null;
  execution: ExecutionMonitorStats | null;
  unavailable: { source: Source; reason: string }[];
  /**
   * The gateway's admin audit outbox as it last reported, with when (pushed by the gateway, not read: none of the
   * workers above binds the gateway). Null when it never reported.
   */
  adminAuditOutbox?: { report: AdminAuditOutboxReport; reportedAtMs: number } | null;
}

/** What a rule saw for one alert key: firing with a severity, or `null` (the condition is clear). */
export interface Observation {
  key: string;
  kind: AlertKind;
  source: Source | "monitor" | "gateway";
  severity: AlertSeverity | null;
  title: string;
  detail: string;
  labels: Record<string, string>;
}

/** Counters kept from the previous evaluation, to turn monotonic counters into "since last time". */
export interface Counters {
  deniedByCode: Record<string, number>;
  /** Recorded decisions, approved and denied. */
  decisions: number;
  denied: number;
  /** `venue` → error kind → count (execution's trading-call errors). */
  tradingErrors: Record<string, Record<string, number>>;
}

/** What the rules remember between evaluations. */
export interface RuleMemory {
  counters: Counters | null;
  /** When a chain with entries was first seen without any anchor (null: anchored, or empty). */
  noAnchorSinceMs: number | null;
  /**
   * When ingestion was first seen with an evidence index audit that never took a step (null: it has stepped).
   * Absent from memory stored before the rule existed: read as null.
   */
  noIndexStepSinceMs?: number | null;
}

/** A monotonic counter's growth since it was `before` (0 when it was not counted before, or went down). */
export function delta(now: number, before: number | undefined): number {
  return Math.max(0, now - (before ?? now));
}
