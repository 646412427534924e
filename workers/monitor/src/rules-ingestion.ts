// What ingestion's status says: a venue's market-data runs failing (the venue's own errors, not ours).
import type { IngestionStatus } from "@paulp/contracts";
import type { Observation } from "./observation";
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

export function marketDataRules(ingestion: IngestionStatus, config: RuleConfig): Observation[] {
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
