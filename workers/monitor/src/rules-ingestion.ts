// What ingestion's status says: a venue's market-data runs failing (the venue's own errors, not ours), and evidence
// kept in R2 that cannot be vouched for.
import type { IngestionSignal, Observation } from "./observation";
import type { RuleConfig } from "./rule-config";

/** Error kinds of an ingestion run that are ours, not the venue's (src/pipeline.ts in ingestion). */
const NOT_API_ERRORS = new Set([
  "market_unrepresentable",
  "gate_denied",
  "rules_changed",
  "cursor_reset",
  "audit_failed",
  "d1_error",
  "risk_marks_failed",
  "compliance_unavailable",
  "lease_lost",
]);

export function marketDataRules(ingestion: IngestionSignal, config: RuleConfig): Observation[] {
  return Object.entries(ingestion.venues).map(([venue, s]) => {
    const run = s.lastRun;
    // Only the venue's own answers count (HTTP errors, timeouts, bodies that fail their schema); our own
    // bookkeeping kinds (a market we cannot represent, a D1 or audit hiccup, a lost lease) are not API errors.
    const errors = run ? Object.entries(run.errors).filter(([k, n]) => n > 0 && !NOT_API_ERRORS.has(k)) : [];
    const failing = run !== null && (run.outcome === "failed" || errors.length > 0);
    return {
      key: `venue_errors:market_data:${venue}`,
      kind: "venue_errors" as const,
      source: "ingestion" as const,
      severity: !failing
        ? null
        : s.consecutiveFailures >= config.marketDataFailuresCritical
          ? ("critical" as const)
          : ("warning" as const),
      title: `${venue} market data errors`,
      detail: run
        ? `last run ${run.outcome} at ${run.finishedAt}: ${errors.map(([k, n]) => `${k}=${n}`).join(", ") || "no errors"}; ${s.consecutiveFailures} consecutive failure(s)`
        : "no run yet",
      labels: { venue, api: "market_data", errors: errors.map(([k]) => k).join(",") },
    };
  });
}

/** The evidence index audit's alert keys: kept as they are while ingestion does not report the audit. */
export const EVIDENCE_INDEX_KEYS = ["evidence_unvouched", "evidence_index_stalled"] as const;

/**
 * The evidence index audit's two alerts: `evidence_unvouched` (what its walk met) and `evidence_index_stalled` (it
 * has stopped walking). `noStepSinceMs`: when the monitor first saw an audit that never took a step.
 *
 * An unrecorded object in the evidence bucket that cannot be vouched for (its bytes hash to something else than its
 * name, or it is no evidence at all): critical, since evidence is what every stored market and decision cites.
 * Raised while the evidence index audit's walk under way, its last complete walk or its last step met one; it
 * clears once a whole walk meets none. (Recorded evidence altered in place is refused by every read instead.)
 */
export function evidenceIndexRules(
  ingestion: IngestionSignal,
  noStepSinceMs: number | null,
  atMs: number,
  config: RuleConfig,
): Observation[] {
  // An ingestion deployed before the audit reports none: nothing is observed (`observe` names the keys whose state
  // is kept) rather than the whole evaluation failing on a worker a deploy has not reached yet.
  const index = ingestion.evidenceIndex;
  if (!index) return [];
  // The last step's own list too: a page taken again (another object on it not settled) does not count for its walk
  // until it moves on, but what it met is named each time.
  const met = Math.max(
    index.unvouchedThisWalk,
    index.unvouchedLastWalk,
    index.lastStep?.unvouched.length ?? 0,
  );
  const named = index.lastStep?.unvouched ?? [];
  const unvouched: Observation = {
    key: "evidence_unvouched",
    kind: "evidence_unvouched",
    source: "ingestion",
    severity: met > 0 ? "critical" : null,
    title: "evidence that cannot be vouched for",
    detail:
      met > 0
        ? `the evidence index audit met ${met} object(s) in the evidence bucket it cannot vouch for (audit events ingestion.evidence_unvouched)${named.length > 0 ? `; last named: ${named.slice(0, 3).join(", ")}` : ""}`
        : `${index.passesCompleted} complete walk(s) of the evidence bucket; none met an object it cannot vouch for`,
    labels: {},
  };
  return [unvouched, indexStalled(index, noStepSinceMs, atMs, config)];
}

/** Seconds since the evidence index audit's last step: null before its first, NaN when its time cannot be read. */
export function indexStepAgeSeconds(
  index: NonNullable<IngestionSignal["evidenceIndex"]>,
  atMs: number,
): number | null {
  return index.lastStepAt === null ? null : (atMs - Date.parse(index.lastStepAt)) / 1000;
}

/**
 * A walk that has stopped: no step for longer than the limit (a step that throws before it records itself, e.g. the
 * bucket's list or D1 failing, leaves its last step to age; ingestion's log says why). An audit that never stepped
 * counts from when the monitor first saw it so. A warning: the pipeline still records what it fetches; this is its
 * backstop that has gone quiet.
 */
function indexStalled(
  index: NonNullable<IngestionSignal["evidenceIndex"]>,
  noStepSinceMs: number | null,
  atMs: number,
  config: RuleConfig,
): Observation {
  const ageSeconds = Math.floor(
    indexStepAgeSeconds(index, atMs) ?? (noStepSinceMs === null ? 0 : (atMs - noStepSinceMs) / 1000),
  );
  // An unreadable time is no evidence of a step: stalled, fail closed.
  const stalled = !Number.isFinite(ageSeconds) || ageSeconds > config.evidenceIndexStepMaxAgeSeconds;
  const age = Number.isFinite(ageSeconds) ? `${ageSeconds} s` : "a time that cannot be read";
  const last =
    index.lastStepAt === null
      ? `no step in the ${age} since the monitor first saw the audit`
      : `last step at ${index.lastStepAt}, ${age} ago`;
  return {
    key: "evidence_index_stalled",
    kind: "evidence_index_stalled",
    source: "ingestion",
    severity: stalled ? "warning" : null,
    title: "evidence index audit not stepping",
    detail: stalled
      ? `${last} (limit ${config.evidenceIndexStepMaxAgeSeconds} s): ingestion's cron takes a step each run; its log says why it failed ("evidence index audit failed: …")`
      : index.lastStepAt === null
        ? "no step yet"
        : last,
    labels: {},
  };
}
