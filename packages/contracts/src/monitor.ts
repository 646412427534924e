import * as v from "valibot";
import type { HealthReport, Principal, Result } from "./common";
import { IntFrom, IntIn, PageLimit, Text } from "./fields";

/** How bad an alert is: `critical` pages (trading is or should be stopped), `warning` needs a look today. */
export const AlertSeverity = v.picklist(["warning", "critical"]);
/** How bad an alert is. */
export type AlertSeverity = v.InferOutput<typeof AlertSeverity>;

/**
 * What an alert watches (the specification's monitoring list, plus `unhedged_exposure`: a fill whose hedge stays
 * owed, `monitor_source`: a signal the monitor could not read, which is itself alerted rather than taken as
 * "all clear", `evidence_unvouched`: an object in the evidence bucket whose bytes cannot be vouched for, and
 * `evidence_index_stalled`: the audit that looks for such objects has stopped stepping).
 */
export const AlertKind = v.picklist([
  "breaker_state",
  "risk_denials",
  "audit_integrity",
  "audit_anchor_age",
  "audit_mirror_lag",
  "position_drift",
  "venue_errors",
  "unhedged_exposure",
  "monitor_source",
  "audit_outbox_backlog",
  "evidence_unvouched",
  "evidence_index_stalled",
]);
/** What an alert watches. */
export type AlertKind = v.InferOutput<typeof AlertKind>;

/** One alert, active or cleared. `key` names the condition (`venue_errors:trading:kalshi`); one active per key. */
export interface Alert {
  key: string;
  kind: AlertKind;
  severity: AlertSeverity;
  status: "active" | "cleared";
  title: string;
  detail: string;
  labels: Record<string, string>;
  raisedAt: string;
  updatedAt: string;
  clearedAt: string | null;
}

/** What happened to an alert at one evaluation: one row of its history. */
export const AlertAction = v.picklist(["raised", "escalated", "deescalated", "cleared"]);
/** What happened to an alert at one evaluation. */
export type AlertAction = v.InferOutput<typeof AlertAction>;

/** One row of the alert history (kept for the newest few thousand; each is also in the audit chain). */
export interface AlertHistoryEntry {
  id: number;
  at: string;
  key: string;
  kind: AlertKind;
  action: AlertAction;
  severity: AlertSeverity;
  detail: string;
  /** The audit entry that records it (null while the chain refused it; it is retried). */
  auditSeq: number | null;
}

/** What `GET /admin/alerts` answers. */
export interface AlertsView {
  active: Alert[];
  recent: AlertHistoryEntry[];
  lastEvaluation: EvaluationReport | null;
}

/** What one evaluation did. */
export interface EvaluationReport {
  at: string;
  /** Signals that could not be read this time (their alerts keep their state; `monitor_source` says so). */
  unavailable: string[];
  changes: { key: string; action: AlertAction; severity: AlertSeverity }[];
  active: number;
}

/** An email as the monitor composed it: sent through `send_email`, or kept locally where nothing is sent. */
export interface OutboxMessage {
  id: number;
  createdAt: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** `local`: dev/test, nothing sent (what would be); `sent`; `failed` (with `error`); `no_recipients`. */
  delivery: "local" | "sent" | "failed" | "no_recipients";
  error: string | null;
}

/** Query of `GET /admin/alerts`. */
export const AlertsQuery = v.object({
  limit: v.optional(PageLimit),
});
/** Query of `GET /admin/alerts`. */
export type AlertsQuery = v.InferOutput<typeof AlertsQuery>;

/** An operator address alerts are emailed to (it must also be a verified destination on the Cloudflare account). */
export const AlertRecipient = v.pipe(v.string(), v.trim(), v.toLowerCase(), v.email(), v.maxLength(254));

/** The body of `PUT /admin/alerts/recipients`: add or remove one address (audited; every recipient is told). */
export const RecipientChange = v.strictObject({
  action: v.picklist(["add", "remove"]),
  email: AlertRecipient,
});
/** A change of the alert recipients. */
export type RecipientChange = v.InferOutput<typeof RecipientChange>;

/** The alert recipients with their version. */
export interface RecipientsView {
  recipients: string[];
  version: number;
  updatedAt: string | null;
  updatedBy: string | null;
}

/**
 * What the gateway's admin audit outbox tells the monitor (pushed: no worker the monitor reads binds the gateway):
 * the admin request records waiting for the audit chain, the oldest one's age when reported, records dropped.
 */
export const AdminAuditOutboxReport = v.strictObject({
  depth: IntFrom(0),
  oldestAgeSeconds: v.nullable(IntFrom(0)),
  dropped: IntFrom(0),
  lastError: v.nullable(Text(300)),
});
/** What the gateway's admin audit outbox reports. */
export type AdminAuditOutboxReport = v.InferOutput<typeof AdminAuditOutboxReport>;

/** RPC surface of the `monitor` worker. */
export interface MonitorRpc {
  health(): Promise<HealthReport>;
  /** Read every signal, apply the raise/clear rules, audit and email the changes (the cron runs it every minute). */
  evaluate(actor: Principal): Promise<Result<EvaluationReport>>;
  /** Active alerts and the newest history rows. */
  alerts(query: AlertsQuery): Promise<Result<AlertsView>>;
  /** The mesh's metrics in the Prometheus text exposition format (0.0.4). */
  metrics(): Promise<Result<string>>;
  /** The newest composed emails (what was sent, or in dev what would have been). */
  outbox(limit?: number): Promise<Result<{ messages: OutboxMessage[] }>>;
  recipients(): Promise<Result<RecipientsView>>;
  /** Add or remove a recipient: audited before it applies; removing the last one is refused. */
  changeRecipients(change: RecipientChange, actor: Principal): Promise<Result<RecipientsView>>;
  /** The newest one-minute equity samples, oldest first (each evaluation samples risk's equity once a minute). */
  equitySeries(query: EquitySeriesQuery): Promise<Result<EquitySeries>>;
  /** The gateway's admin audit outbox, as it last reported (the `audit_outbox_backlog` alert's signal). */
  reportAdminAuditOutbox(report: AdminAuditOutboxReport): Promise<Result<null>>;
}

/**
 * One minute of the desk's equity as risk values it (cash plus open positions at their marks; risk derives it from
 * the audited fills and marks): what the console's equity curve and P&L panel draw. Money in dollars.
 */
export interface EquitySample {
  at: string;
  equity: string | null;
  dayStartEquity: string | null;
  highWaterMark: string | null;
  /** equity − the day's starting equity. */
  dayPnl: string | null;
  realisedPnl: string;
  unrealisedPnl: string | null;
  /** The daily-loss and drawdown limits' observed values, in % (risk's own figures). */
  dailyLossPct: string;
  drawdownPct: string;
}

/** The stored series: one sample a minute, the newest week kept. */
export interface EquitySeries {
  samples: EquitySample[];
  /** Minutes kept at most. */
  keepMinutes: number;
}

/** Query of `equitySeries`. */
export const EquitySeriesQuery = v.object({
  minutes: v.optional(IntIn(1, 10_080)),
});
/** Query of `equitySeries`. */
export type EquitySeriesQuery = v.InferOutput<typeof EquitySeriesQuery>;
