import type {
  AdminAuditOutboxReport,
  AlertKind,
  AlertSeverity,
  AuditStatus,
  ExecutionMonitorStats,
  IngestionStatus,
  RiskMonitorStats,
} from "@paulp/contracts";
import { jsonObjectVar } from "@paulp/kit";

// What each signal of the specification's monitoring list says about its alert. Pure: the Durable Object reads
// the signals (src/signals.ts) and keeps the counters between evaluations; this module knows no clock or binding.

/** The workers a signal is read from; an alert belongs to the source its signal comes from. */
export type Source = "risk" | "audit" | "ingestion" | "execution";

/** Everything one evaluation read; a source that did not answer is null and named in `unavailable`. */
export interface Snapshot {
  atMs: number;
  risk: RiskMonitorStats | null;
  audit: AuditStatus | null;
  ingestion: IngestionStatus | null;
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
}

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

const BREAKER_SEVERITY = { NORMAL: null, CAUTION: "warning", RECOVERY: "warning", HALT: "critical" } as const;

function delta(now: number, before: number | undefined): number {
  return Math.max(0, now - (before ?? now));
}

function breakerRules(risk: RiskMonitorStats): Observation[] {
  const b = risk.breaker;
  return [
    {
      key: "breaker_state",
      kind: "breaker_state",
      source: "risk",
      severity: BREAKER_SEVERITY[b.state],
      title: `circuit breaker ${b.state}`,
      detail: `${b.state} v${b.version} since ${b.since} by ${b.changedBy}: ${b.reason}`,
      labels: { state: b.state, version: String(b.version) },
    },
  ];
}

function denialRules(risk: RiskMonitorStats, previous: Counters | null, config: RuleConfig): Observation[] {
  const out: Observation[] = [];
  const byCode = risk.decisions.deniedByCode;
  const codes = new Set([...Object.keys(byCode), ...Object.keys(previous?.deniedByCode ?? {})]);
  for (const code of [...codes].sort()) {
    // The first evaluation has nothing to compare with: history before it is not a rate.
    const n = previous ? delta(byCode[code] ?? 0, previous.deniedByCode[code] ?? 0) : 0;
    const critical = config.criticalDenialCodes.includes(code);
    const severity = critical && n >= 1 ? "critical" : n >= config.denialsPerCodeWarning ? "warning" : null;
    out.push({
      key: `risk_denials:${code}`,
      kind: "risk_denials",
      source: "risk",
      severity,
      title: `risk denials ${code}`,
      detail: `${n} order(s) denied ${code} since the last evaluation (${byCode[code] ?? 0} in all)`,
      labels: { code },
    });
  }
  const decisions = risk.decisions.approved + risk.decisions.denied;
  const made = previous ? delta(decisions, previous.decisions) : 0;
  const deniedNow = previous ? delta(risk.decisions.denied, previous.denied) : 0;
  const pct = made > 0 ? (deniedNow / made) * 100 : 0;
  out.push({
    key: "risk_denials:rate",
    kind: "risk_denials",
    source: "risk",
    severity: made >= config.denialRateMinDecisions && pct >= config.denialRateWarningPct ? "warning" : null,
    title: "risk denial rate",
    detail: `${deniedNow} of ${made} decision(s) denied since the last evaluation (${pct.toFixed(0)}%)`,
    labels: { code: "*" },
  });
  return out;
}

function auditRules(
  audit: AuditStatus,
  noAnchorSinceMs: number | null,
  atMs: number,
  config: RuleConfig,
): Observation[] {
  const integrity: Observation = {
    key: "audit_integrity",
    kind: "audit_integrity",
    source: "audit",
    severity: audit.integrity === "broken" ? "critical" : null,
    title: "audit chain integrity broken",
    detail:
      audit.integrity === "broken"
        ? `verification found the chain broken at seq ${audit.lastVerification?.brokenSeq ?? "?"}: ${audit.lastVerification?.reason ?? "no reason given"}`
        : `integrity ${audit.integrity}`,
    labels: {},
  };
  // No anchor yet while entries exist counts from when the monitor first saw it so.
  const age =
    audit.lastAnchorAgeSeconds ??
    (noAnchorSinceMs !== null ? Math.floor((atMs - noAnchorSinceMs) / 1000) : null);
  const anchor: Observation = {
    key: "audit_anchor_age",
    kind: "audit_anchor_age",
    source: "audit",
    severity: age !== null && age > config.anchorMaxAgeSeconds ? "warning" : null,
    title: "audit anchor too old",
    detail:
      audit.lastAnchor === null
        ? `no anchor yet (${audit.entryCount} entries, first seen unanchored ${age ?? 0} s ago)`
        : `last anchor #${audit.lastAnchor.anchorNo} is ${age} s old (limit ${config.anchorMaxAgeSeconds} s); ${audit.unanchoredEntries} entries unanchored`,
    labels: {},
  };
  const lagging = audit.r2MirrorLag > config.mirrorLagMaxEntries || audit.r2MirrorError !== null;
  const mirror: Observation = {
    key: "audit_mirror_lag",
    kind: "audit_mirror_lag",
    source: "audit",
    severity: lagging ? "warning" : null,
    title: "audit R2 mirror lagging",
    detail: `${audit.r2MirrorLag} entries not yet mirrored (limit ${config.mirrorLagMaxEntries})${audit.r2MirrorError ? `; last error: ${audit.r2MirrorError}` : ""}`,
    labels: {},
  };
  return [integrity, anchor, mirror];
}

function driftRules(execution: ExecutionMonitorStats): Observation[] {
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
function hedgeRules(execution: ExecutionMonitorStats, config: RuleConfig): Observation[] {
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

/**
 * The age at `atMs` of the oldest admin request record the outbox last reported waiting: its age when reported,
 * grown since (a gateway that stopped reporting does not freeze it). Null when none was waiting.
 */
export function outboxOldestAgeSeconds(
  outbox: NonNullable<Snapshot["adminAuditOutbox"]>,
  atMs: number,
): number | null {
  const { report, reportedAtMs } = outbox;
  if (report.depth === 0) return null;
  return (report.oldestAgeSeconds ?? 0) + Math.max(0, Math.floor((atMs - reportedAtMs) / 1000));
}

/**
 * Admin request records not yet in the audit chain (an audit-chain gap in the making): the gateway's outbox keeps
 * them and retries. A warning once the oldest has waited past the limit (its age grows from the report's time, so
 * a gateway that stopped reporting does not freeze it); critical when records were dropped (the gap is real).
 * Clear when the outbox reports empty with nothing dropped. Never reported: nothing is said.
 */
export function outboxRules(
  outbox: NonNullable<Snapshot["adminAuditOutbox"]>,
  atMs: number,
  config: RuleConfig,
): Observation[] {
  const { report } = outbox;
  const age = outboxOldestAgeSeconds(outbox, atMs) ?? 0;
  const severity =
    report.dropped > 0
      ? ("critical" as const)
      : report.depth > 0 && age >= config.adminAuditOutboxWarningSeconds
        ? ("warning" as const)
        : null;
  const waiting =
    report.depth === 0
      ? "no admin request record waiting"
      : `${report.depth} admin request record(s) waiting for the audit chain, the oldest ${age} s (warning from ${config.adminAuditOutboxWarningSeconds} s)${report.lastError ? `; last append: ${report.lastError}` : ""}`;
  return [
    {
      key: "audit_outbox_backlog",
      kind: "audit_outbox_backlog",
      source: "gateway",
      severity,
      title: "admin request records not in the audit chain",
      detail:
        report.dropped > 0
          ? `${report.dropped} record(s) DROPPED (the chain has a gap); ${waiting}`
          : waiting,
      labels: { depth: String(report.depth), dropped: String(report.dropped) },
    },
  ];
}

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

function marketDataRules(ingestion: IngestionStatus, config: RuleConfig): Observation[] {
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

function tradingRules(
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

/**
 * Every observation of one evaluation, and what to remember for the next. A source that did not answer gives
 * no observation of its own (its alerts keep their state) but a `monitor_source` warning; its counters are
 * carried over, so the next answer's rate covers the gap.
 */
export function observe(
  snapshot: Snapshot,
  memory: RuleMemory,
  config: RuleConfig,
): { observations: Observation[]; memory: RuleMemory } {
  const observations: Observation[] = [];
  const previous = memory.counters;
  const down = new Map(snapshot.unavailable.map((u) => [u.source, u.reason]));
  for (const source of ["risk", "audit", "ingestion", "execution"] as const) {
    const reason = down.get(source);
    observations.push({
      key: `monitor_source:${source}`,
      kind: "monitor_source",
      source: "monitor",
      severity: reason ? "warning" : null,
      title: `monitor cannot read ${source}`,
      detail: reason ? `${source} did not answer: ${reason}` : `${source} answered`,
      labels: { source },
    });
  }
  if (snapshot.risk) {
    observations.push(...breakerRules(snapshot.risk), ...denialRules(snapshot.risk, previous, config));
  }
  let noAnchorSinceMs = memory.noAnchorSinceMs;
  if (snapshot.audit) {
    const unanchored = snapshot.audit.lastAnchor === null && snapshot.audit.entryCount > 0;
    noAnchorSinceMs = unanchored ? (noAnchorSinceMs ?? snapshot.atMs) : null;
    observations.push(...auditRules(snapshot.audit, noAnchorSinceMs, snapshot.atMs, config));
  }
  if (snapshot.ingestion) observations.push(...marketDataRules(snapshot.ingestion, config));
  if (snapshot.execution) {
    observations.push(
      ...driftRules(snapshot.execution),
      ...tradingRules(snapshot.execution, previous, config),
      ...hedgeRules(snapshot.execution, config),
    );
  }
  if (snapshot.adminAuditOutbox)
    observations.push(...outboxRules(snapshot.adminAuditOutbox, snapshot.atMs, config));
  const counters: Counters = {
    deniedByCode: snapshot.risk?.decisions.deniedByCode ?? previous?.deniedByCode ?? {},
    decisions: snapshot.risk
      ? snapshot.risk.decisions.approved + snapshot.risk.decisions.denied
      : (previous?.decisions ?? 0),
    denied: snapshot.risk?.decisions.denied ?? previous?.denied ?? 0,
    tradingErrors: snapshot.execution?.venueErrors ?? previous?.tradingErrors ?? {},
  };
  return { observations, memory: { counters, noAnchorSinceMs } };
}
