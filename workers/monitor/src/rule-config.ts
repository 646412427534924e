// The rules' thresholds: defaults, each overridable per environment with the ALERT_RULES var (JSON).
import { jsonObjectVar } from "@paulp/kit";

/** Thresholds; every one can be overridden per environment with the ALERT_RULES var (JSON). */
export interface RuleConfig {
  /** The specification's hourly anchor, with half an hour of grace: older is an audit-chain gap. */
  anchorMaxAgeSeconds: number;
  /** Entries appended but not yet in the R2 mirror. */
  mirrorLagMaxEntries: number;
  /** Denials of one reason code between two evaluations (a minute apart) that raise a warning. */
  denialsPerCodeWarning: number;
  /** Codes for which one denial is critical: the loss limits (the breaker halts on them) and unusable input. */
  criticalDenialCodes: string[];
  /** Share of recorded decisions denied between two evaluations (with at least `denialRateMinDecisions`). */
  denialRateWarningPct: number;
  denialRateMinDecisions: number;
  /** Trading-call errors of one venue between two evaluations: warning from the first, critical from this many. */
  tradingErrorsCritical: number;
  /** Consecutive failed market-data runs of one venue that make its warning critical. */
  marketDataFailuresCritical: number;
  /** Seconds an open hedge obligation (a fill whose hedge is owed) may last before it warns; 0: at once. */
  hedgeObligationWarningSeconds: number;
  /** Seconds after which an open hedge obligation is critical. */
  hedgeObligationCriticalSeconds: number;
  /** Seconds the oldest admin request record may wait in the gateway's outbox before it warns; 0: at once. */
  adminAuditOutboxWarningSeconds: number;
  /** Seconds without a step of the evidence index audit (ingestion's cron takes one each run) before it warns. */
  evidenceIndexStepMaxAgeSeconds: number;
}

/** The defaults. */
export const DEFAULT_RULES: RuleConfig = {
  anchorMaxAgeSeconds: 90 * 60,
  mirrorLagMaxEntries: 1_000,
  denialsPerCodeWarning: 3,
  criticalDenialCodes: [
    "DAILY_LOSS_LIMIT_EXCEEDED",
    "DRAWDOWN_LIMIT_EXCEEDED",
    "NON_FINITE_INPUT",
    "NO_EQUITY",
  ],
  denialRateWarningPct: 50,
  denialRateMinDecisions: 10,
  tradingErrorsCritical: 5,
  marketDataFailuresCritical: 3,
  // The loop retries an owed hedge every minute: five runs without a fresh mark (or with refusals) is no blip.
  hedgeObligationWarningSeconds: 5 * 60,
  hedgeObligationCriticalSeconds: 30 * 60,
  // The gateway's /admin/status fails its outbox check at the same age.
  adminAuditOutboxWarningSeconds: 5 * 60,
  // The cron runs every 2 minutes: fifteen runs in a row without a step is a failing step, not a slow one.
  evidenceIndexStepMaxAgeSeconds: 30 * 60,
};

/** Thresholds that may be 0 (an age limit: 0 alerts on any open obligation); every other one must be positive. */
const ZERO_ALLOWED = new Set<keyof RuleConfig>([
  "hedgeObligationWarningSeconds",
  "hedgeObligationCriticalSeconds",
  "adminAuditOutboxWarningSeconds",
]);

/** Rules from the ALERT_RULES var: each well-formed field overrides its default; anything else keeps the default. */
export function parseRuleConfig(text: string | undefined): RuleConfig {
  const out: RuleConfig = structuredClone(DEFAULT_RULES);
  const r = jsonObjectVar(text);
  if (!r) return out;
  for (const key of Object.keys(out) as (keyof RuleConfig)[]) {
    const value = r[key];
    if (key === "criticalDenialCodes") {
      if (Array.isArray(value) && value.every((c) => typeof c === "string")) out.criticalDenialCodes = value;
    } else if (
      typeof value === "number" &&
      Number.isFinite(value) &&
      (value > 0 || (value === 0 && ZERO_ALLOWED.has(key)))
    ) {
      out[key] = value;
    }
  }
  return out;
}
