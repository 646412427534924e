import {
  type Alert,
  type BreakerState,
  type OrderState,
  OrderState as OrderStateSchema,
} from "@paulp/contracts";
import { MICROS_PER_DOLLAR, orNull, parseDollars } from "@paulp/kit";
import { indexStepAgeSeconds, outboxOldestAgeSeconds, type Snapshot } from "./rules";

// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): `# HELP` and `# TYPE` once per family, then
// one `name{label="value"} number` line per series. Pure: renders what one snapshot read. The parser test
// (test/metrics.test.ts) reads the output back with an independent parser.

/** The content type Prometheus expects for this format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: { labels: Labels; value: number }[];
}

/** A label value: backslash, double quote and line feed escaped, as the format requires. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text: backslash and line feed escaped. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
}

/** Render families in order; a family without samples is left out. */
export function renderFamilies(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(",");
      lines.push(`${f.name}${labels ? `{${labels}}` : ""} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

const STATES: BreakerState[] = ["NORMAL", "CAUTION", "HALT", "RECOVERY"];
/** Every order state, in lifecycle order (the contract's own list). */
const ORDER_STATES: readonly OrderState[] = OrderStateSchema.options;

/** A decimal dollar string in micro-dollars, exactly (kit's fixed point), or null when it is not one. */
function micros(s: string | null | undefined): number | null {
  return typeof s === "string" ? orNull(() => parseDollars(s, "half-up")) : null;
}

/** Micro-dollars as the float a gauge carries (metrics are floats by nature; nothing is stored from them). */
const dollars = (m: number): number => m / MICROS_PER_DOLLAR;

function family(name: string, help: string, type: Family["type"]): Family {
  return { name, help, type, samples: [] };
}

/** Every family the monitor exports, empty, in the order it renders them (a fresh set for each rendering). */
function families() {
  return {
    up: family(
      "paulp_monitor_source_up",
      "1 when the source answered the monitor's last read, else 0.",
      "gauge",
    ),
    breakerState: family(
      "paulp_breaker_state",
      "1 for the circuit breaker's current state, 0 for the others.",
      "gauge",
    ),
    breakerVersion: family(
      "paulp_breaker_version",
      "Version of the circuit breaker (one more per transition).",
      "gauge",
    ),
    breakerTransitions: family(
      "paulp_breaker_transitions_total",
      "Circuit breaker transitions by from and to state.",
      "counter",
    ),
    breakerFailures: family(
      "paulp_breaker_consecutive_failures",
      "Consecutive failures the breaker counts, by kind.",
      "gauge",
    ),
    decisions: family("paulp_risk_decisions_total", "Recorded risk decisions by outcome.", "counter"),
    denials: family(
      "paulp_risk_denials_total",
      "Risk denials by reason code (a denial with two reasons counts under both).",
      "counter",
    ),
    tradingErrors: family(
      "paulp_venue_trading_errors_total",
      "Failed trading calls (orders, cancels, positions) by venue and error kind.",
      "counter",
    ),
    tradingRateLimited: family(
      "paulp_venue_trading_429_total",
      "Trading calls the venue answered 429 (rate limited), by venue.",
      "counter",
    ),
    marketDataErrors: family(
      "paulp_venue_market_data_errors_recent",
      "Market-data errors by venue and kind over ingestion's last 50 runs.",
      "gauge",
    ),
    marketDataRateLimited: family(
      "paulp_venue_market_data_429_recent",
      "Market-data answers 429 by venue over ingestion's last 50 runs.",
      "gauge",
    ),
    ingestionPass: family(
      "paulp_ingestion_last_run_seconds",
      "Duration of ingestion's last run, by venue.",
      "gauge",
    ),
    ingestionFailures: family(
      "paulp_ingestion_consecutive_failures",
      "Consecutive failed ingestion runs, by venue.",
      "gauge",
    ),
    ingestionPasses: family(
      "paulp_ingestion_passes_completed_total",
      "Full passes over a venue's markets completed.",
      "counter",
    ),
    evidenceRecovered: family(
      "paulp_evidence_recovered_total",
      "Evidence objects kept without their record, recorded by the evidence index audit.",
      "counter",
    ),
    evidenceUnvouched: family(
      "paulp_evidence_unvouched",
      "Objects in the evidence bucket the index audit cannot vouch for, by walk (current, last complete).",
      "gauge",
    ),
    evidenceWalks: family(
      "paulp_evidence_index_walks_total",
      "Complete walks of the evidence bucket by the index audit.",
      "counter",
    ),
    evidenceStepAge: family(
      "paulp_evidence_index_step_age_seconds",
      "Seconds since the evidence index audit's last step (absent before its first).",
      "gauge",
    ),
    auditHead: family("paulp_audit_head_seq", "Sequence number of the audit chain's head.", "gauge"),
    anchorAge: family(
      "paulp_audit_anchor_age_seconds",
      "Age of the last anchor of the audit chain in D1.",
      "gauge",
    ),
    unanchored: family(
      "paulp_audit_unanchored_entries",
      "Audit entries appended since the last anchor.",
      "gauge",
    ),
    mirrorLag: family("paulp_audit_mirror_lag_entries", "Audit entries not yet in the R2 mirror.", "gauge"),
    integrity: family(
      "paulp_audit_integrity",
      "1 for the audit chain's integrity as last verified (ok, broken, unknown).",
      "gauge",
    ),
    markAge: family(
      "paulp_mark_age_seconds",
      "Age of the mark of each market a position is held in.",
      "gauge",
    ),
    unmarked: family(
      "paulp_held_markets_without_mark",
      "Markets a position is held in that have no mark.",
      "gauge",
    ),
    orders: family("paulp_orders", "Orders by state.", "gauge"),
    hedgeObligations: family(
      "paulp_hedge_obligations_open",
      "Fills whose IBKR hedge is owed and not placed (open hedge obligations).",
      "gauge",
    ),
    hedgeOldest: family(
      "paulp_hedge_obligation_oldest_age_seconds",
      "Age of the oldest open hedge obligation (absent when none is open).",
      "gauge",
    ),
    unhedged: family(
      "paulp_hedge_unhedged_shares",
      "Whole shares still to hedge, over the open hedge obligations.",
      "gauge",
    ),
    outboxDepth: family(
      "paulp_admin_audit_outbox_depth",
      "Admin request records waiting in the gateway's outbox for the audit chain, as last reported (absent: never reported).",
      "gauge",
    ),
    outboxOldest: family(
      "paulp_admin_audit_outbox_oldest_age_seconds",
      "Age of the oldest waiting admin request record: its age when reported, grown since (absent when none waits).",
      "gauge",
    ),
    outboxDropped: family(
      "paulp_admin_audit_outbox_dropped",
      "Admin request records the outbox dropped and has not yet recorded on the chain, as last reported.",
      "gauge",
    ),
    outboxReportedAt: family(
      "paulp_admin_audit_outbox_report_timestamp_seconds",
      "Unix time of the outbox's last report (it reports while records wait, and once when empty again).",
      "gauge",
    ),
    equity: family("paulp_equity_dollars", "Portfolio equity.", "gauge"),
    dailyPnl: family("paulp_daily_pnl_dollars", "Equity less the day's starting equity.", "gauge"),
    drawdown: family(
      "paulp_drawdown_ratio",
      "Drop of equity from its high-water mark, as a fraction of it.",
      "gauge",
    ),
    realised: family("paulp_realised_pnl_dollars", "Realised profit and loss.", "gauge"),
    alerts: family("paulp_alerts_active", "Active alerts by severity.", "gauge"),
  };
}

type Families = ReturnType<typeof families>;

/** Every series the monitor exports, from one snapshot and the active alerts. */
export function renderMetrics(snapshot: Snapshot, active: readonly Alert[]): string {
  const f = families();
  const down = new Set(snapshot.unavailable.map((u) => u.source));
  for (const source of ["risk", "audit", "ingestion", "execution"] as const)
    f.up.samples.push({ labels: { source }, value: down.has(source) ? 0 : 1 });
  if (snapshot.risk) riskSeries(f, snapshot.risk);
  if (snapshot.execution) executionSeries(f, snapshot.execution);
  if (snapshot.ingestion) ingestionSeries(f, snapshot.ingestion, snapshot.atMs);
  if (snapshot.audit) auditSeries(f, snapshot.audit);
  // Pushed by the gateway, not read: the last report stands until the next (none while the outbox stays empty).
  if (snapshot.adminAuditOutbox) outboxSeries(f, snapshot.adminAuditOutbox, snapshot.atMs);
  for (const severity of ["warning", "critical"] as const)
    f.alerts.samples.push({
      labels: { severity },
      value: active.filter((a) => a.severity === severity).length,
    });
  return renderFamilies(Object.values(f));
}

/** The breaker, risk's decisions, held marks and the money gauges. */
function riskSeries(f: Families, risk: NonNullable<Snapshot["risk"]>): void {
  for (const state of STATES)
    f.breakerState.samples.push({ labels: { state }, value: risk.breaker.state === state ? 1 : 0 });
  f.breakerVersion.samples.push({ labels: {}, value: risk.breaker.version });
  for (const [pair, n] of Object.entries(risk.transitions).sort()) {
    const [from = "", to = ""] = pair.split("->");
    f.breakerTransitions.samples.push({ labels: { from, to }, value: n });
  }
  for (const [kind, n] of Object.entries(risk.breaker.consecutiveFailures).sort())
    f.breakerFailures.samples.push({ labels: { kind }, value: n });
  f.decisions.samples.push(
    { labels: { outcome: "approved" }, value: risk.decisions.approved },
    { labels: { outcome: "denied" }, value: risk.decisions.denied },
  );
  for (const [code, n] of Object.entries(risk.decisions.deniedByCode).sort())
    f.denials.samples.push({ labels: { code }, value: n });
  for (const m of risk.heldMarks) {
    if (m.ageSeconds === null) continue;
    f.markAge.samples.push({ labels: { venue: m.venue, market: m.market }, value: m.ageSeconds });
  }
  f.unmarked.samples.push({
    labels: {},
    value: risk.heldMarks.filter((m) => m.ageSeconds === null).length,
  });
  const x = risk.exposure;
  const equity = micros(x?.equity);
  const dayStart = micros(x?.dayStartEquity);
  const hwm = micros(x?.highWaterMark);
  if (equity !== null) f.equity.samples.push({ labels: {}, value: dollars(equity) });
  // Subtracted exactly in micros, divided once: no float residue such as 0.30000000000000004.
  if (equity !== null && dayStart !== null)
    f.dailyPnl.samples.push({ labels: {}, value: dollars(equity - dayStart) });
  if (equity !== null && hwm !== null && hwm > 0)
    f.drawdown.samples.push({ labels: {}, value: Math.max(0, (hwm - equity) / hwm) });
  const realised = micros(x?.realisedPnl);
  if (realised !== null) f.realised.samples.push({ labels: {}, value: dollars(realised) });
}

/** Trading errors by venue, orders by state, owed hedges. */
function executionSeries(f: Families, execution: NonNullable<Snapshot["execution"]>): void {
  // Every traded venue and every order state is a series from the start, so a rate over it has a baseline.
  const venues = new Set(["ibkr", "kalshi", ...Object.keys(execution.venueErrors)]);
  for (const venue of [...venues].sort()) {
    const kinds = execution.venueErrors[venue] ?? {};
    for (const [kind, n] of Object.entries(kinds).sort())
      f.tradingErrors.samples.push({ labels: { venue, kind }, value: n });
    f.tradingRateLimited.samples.push({ labels: { venue }, value: kinds.rate_limited ?? 0 });
  }
  for (const state of ORDER_STATES)
    f.orders.samples.push({ labels: { state }, value: execution.ordersByState[state] ?? 0 });
  const h = execution.hedgeObligations;
  if (h) {
    f.hedgeObligations.samples.push({ labels: {}, value: h.open });
    if (h.oldestAgeSeconds !== null) f.hedgeOldest.samples.push({ labels: {}, value: h.oldestAgeSeconds });
    f.unhedged.samples.push({ labels: {}, value: h.unhedgedQuantity });
  }
}

/** Market-data errors and runs by venue, and the evidence index audit. */
function ingestionSeries(f: Families, ingestion: NonNullable<Snapshot["ingestion"]>, atMs: number): void {
  for (const [venue, s] of Object.entries(ingestion.venues).sort()) {
    for (const [kind, n] of Object.entries(s.errorsRecent).sort())
      f.marketDataErrors.samples.push({ labels: { venue, kind }, value: n });
    f.marketDataRateLimited.samples.push({ labels: { venue }, value: s.errorsRecent.http_429 ?? 0 });
    if (s.lastRun) {
      const seconds = (Date.parse(s.lastRun.finishedAt) - Date.parse(s.lastRun.startedAt)) / 1000;
      if (Number.isFinite(seconds)) f.ingestionPass.samples.push({ labels: { venue }, value: seconds });
    }
    f.ingestionFailures.samples.push({ labels: { venue }, value: s.consecutiveFailures });
    f.ingestionPasses.samples.push({ labels: { venue }, value: s.passesCompleted });
  }
  // An ingestion deployed before the evidence index audit reports none: no series then.
  const index = ingestion.evidenceIndex;
  if (index) {
    f.evidenceRecovered.samples.push({ labels: {}, value: index.recordedTotal });
    f.evidenceUnvouched.samples.push({ labels: { walk: "current" }, value: index.unvouchedThisWalk });
    f.evidenceUnvouched.samples.push({ labels: { walk: "last" }, value: index.unvouchedLastWalk });
    f.evidenceWalks.samples.push({ labels: {}, value: index.passesCompleted });
    const stepAge = indexStepAgeSeconds(index, atMs);
    if (stepAge !== null && Number.isFinite(stepAge))
      f.evidenceStepAge.samples.push({ labels: {}, value: Math.max(0, stepAge) });
  }
}

/** The audit chain's head, anchors, mirror and integrity. */
function auditSeries(f: Families, audit: NonNullable<Snapshot["audit"]>): void {
  f.auditHead.samples.push({ labels: {}, value: audit.headSeq });
  if (audit.lastAnchorAgeSeconds !== null)
    f.anchorAge.samples.push({ labels: {}, value: audit.lastAnchorAgeSeconds });
  f.unanchored.samples.push({ labels: {}, value: audit.unanchoredEntries });
  f.mirrorLag.samples.push({ labels: {}, value: audit.r2MirrorLag });
  for (const state of ["ok", "broken", "unknown"] as const)
    f.integrity.samples.push({ labels: { state }, value: audit.integrity === state ? 1 : 0 });
}

/** The gateway's admin audit outbox, as it last reported. */
function outboxSeries(f: Families, outbox: NonNullable<Snapshot["adminAuditOutbox"]>, atMs: number): void {
  f.outboxDepth.samples.push({ labels: {}, value: outbox.report.depth });
  const oldest = outboxOldestAgeSeconds(outbox, atMs);
  if (oldest !== null) f.outboxOldest.samples.push({ labels: {}, value: oldest });
  f.outboxDropped.samples.push({ labels: {}, value: outbox.report.dropped });
  f.outboxReportedAt.samples.push({ labels: {}, value: Math.floor(outbox.reportedAtMs / 1000) });
}
