// What execution's stats say: positions drifted from the venues', trading calls failing since the last evaluation,
// and fills whose hedge is still owed.
import type { ExecutionMonitorStats } from "@paulp/contracts";
import { type Counters, delta, type Observation } from "./observation";
import type { RuleConfig } from "./rule-config";

export function driftRules(execution: ExecutionMonitorStats): Observation[] {
  const report = execution.lastReconciliation;
  if (!report) return [];
  return report.drifts.map((d) => ({
    key: `position_drift:${d.venue}:${d.market}`,
    kind: "position_drift" as const,
    source: "execution" as const,
    severity: "critical" as const,
    title: `position drift ${d.venue}:${d.market}`,
    detail: `reconciliation at ${report.at}: internal ${d.internal}, venue ${d.venuePosition}, drift ${d.drift} (tolerance ${report.tolerance})`,
    labels: { venue: d.venue, market: d.market },
  }));
}

/**
 * Unhedged exposure: fills whose hedge execution still owes (no fresh mark, refused by risk or the venue; the
 * loop retries each run). One alert for all of them, by the oldest one's age: a warning past the first limit,
 * critical past the second; clear when none is open. An execution that does not report obligations says nothing.
 */
export function hedgeRules(execution: ExecutionMonitorStats, config: RuleConfig): Observation[] {
  const h = execution.hedgeObligations;
  if (!h) return [];
  const age = h.oldestAgeSeconds ?? 0;
  const severity =
    h.open === 0
      ? null
      : age >= config.hedgeObligationCriticalSeconds
        ? ("critical" as const)
        : age >= config.hedgeObligationWarningSeconds
          ? ("warning" as const)
          : null;
  return [
    {
      key: "unhedged_exposure",
      kind: "unhedged_exposure",
      source: "execution",
      severity,
      title: "fills left unhedged",
      detail:
        h.open === 0
          ? "no open hedge obligation"
          : `${h.open} open hedge obligation(s), ${h.unhedgedQuantity} share(s) unhedged; the oldest first seen ${h.oldestFirstSeenAt} (${age} s ago; warning from ${config.hedgeObligationWarningSeconds} s, critical from ${config.hedgeObligationCriticalSeconds} s)`,
      labels: { open: String(h.open) },
    },
  ];
}

export function tradingRules(
  execution: ExecutionMonitorStats,
  previous: Counters | null,
  config: RuleConfig,
): Observation[] {
  const venues = new Set([
    ...Object.keys(execution.venueErrors),
    ...Object.keys(previous?.tradingErrors ?? {}),
  ]);
  return [...venues].sort().map((venue) => {
    const now = execution.venueErrors[venue] ?? {};
    const before = previous?.tradingErrors[venue] ?? {};
    const kinds = Object.keys(now)
      .map((kind) => [kind, previous ? delta(now[kind] ?? 0, before[kind] ?? 0) : 0] as const)
      .filter(([, n]) => n > 0);
    const n = kinds.reduce((sum, [, k]) => sum + k, 0);
    return {
      key: `venue_errors:trading:${venue}`,
      kind: "venue_errors" as const,
      source: "execution" as const,
      severity: n >= config.tradingErrorsCritical ? "critical" : n >= 1 ? "warning" : null,
      title: `${venue} trading errors`,
      detail: `${n} failed trading call(s) since the last evaluation${kinds.length ? `: ${kinds.map(([k, c]) => `${k}=${c}`).join(", ")}` : ""}`,
      labels: { venue, api: "trading", errors: kinds.map(([k]) => k).join(",") },
    };
  });
}
