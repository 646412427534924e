import { DurableObject } from "cloudflare:workers";
import {
  type AdminAuditOutboxReport,
  type Alert,
  type AlertAction,
  type AlertHistoryEntry,
  type AlertsView,
  type AuditEvent,
  type EquitySample,
  type EquitySeries,
  ErrorCode,
  type EvaluationReport,
  err,
  type OutboxMessage,
  ok,
  type Principal,
  type RecipientChange,
  type RecipientsView,
  type Result,
} from "@paulp/contracts";
import { auditAppend, auditAppendMany, SerialQueue } from "@paulp/kit";
import * as v from "valibot";
import { type AlertChange, applyObservations } from "./alert-table";
import { type Composed, composeAlertEmail, composeRecipientNotice } from "./email";
import type { Env } from "./env";
import { EQUITY_KEEP_MINUTES, equitySample, minuteOf } from "./equity-series";
import { renderMetrics } from "./metrics";
import { observe, parseRuleConfig, type RuleConfig, type RuleMemory, type Snapshot } from "./rules";
import { readSignals } from "./signals";

/** An alert change as the chain records it (`monitor.alert_<action>`), kept in the outbox until appended. */
type AlertAuditEvent = AuditEvent<"monitor", `monitor.alert_${AlertAction}`>;

/** History rows kept (each is also in the audit chain). */
export const HISTORY_KEEP = 2_000;
/** Composed emails kept in the outbox. */
export const OUTBOX_KEEP = 200;

const HIST = "hist:";
/** One equity sample a minute, keyed by the minute (see equity-series.ts). */
const EQ = "eq:";
const OUT = "out:";
const key = (prefix: string, n: number) => `${prefix}${String(n).padStart(12, "0")}`;

function principalName(p: Principal): string {
  return `${p.method}:${p.email ?? p.subject}`;
}

/** The first recipients from the ALERT_RECIPIENTS var: well-formed addresses only. */
function configuredRecipients(text: string | undefined): string[] {
  const Email = v.pipe(v.string(), v.trim(), v.toLowerCase(), v.email());
  const out = new Set<string>();
  for (const part of (text ?? "").split(",")) {
    const parsed = v.safeParse(Email, part);
    if (parsed.success) out.add(parsed.output);
  }
  return [...out].sort();
}

/**
 * The alert desk, one instance ("desk"): active alerts, their history, the rule memory, the email outbox and the
 * recipients. A thin shell: signals are read by src/signals.ts, judged by the pure rules and alert table, and
 * what changed is stored first, then audited and emailed. An alert is stored even when the audit chain refuses it
 * (the chain being down is one of the things alerted on); its audit record waits in an outbox and is retried at
 * the next evaluation, in order.
 */
export class AlertDesk extends DurableObject<Env> {
  private active: Record<string, Alert> = {};
  private memory: RuleMemory = { counters: null, noAnchorSinceMs: null };
  private histSeq = 0;
  private outSeq = 0;
  private recipients!: RecipientsView;
  private lastEvaluation: EvaluationReport | null = null;
  private auditOutbox: AlertAuditEvent[] = [];
  /** The gateway's admin audit outbox as it last reported (pushed by the gateway), with when. */
  private adminAuditOutbox: Snapshot["adminAuditOutbox"] = null;
  private readonly queue = new SerialQueue();
  private readonly rules: RuleConfig = parseRuleConfig(this.env.ALERT_RULES);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.get([
        "active",
        "memory",
        "histSeq",
        "outSeq",
        "recipients",
        "lastEvaluation",
        "auditOutbox",
        "adminAuditOutbox",
      ]);
      this.active = (stored.get("active") as Record<string, Alert>) ?? {};
      this.memory = (stored.get("memory") as RuleMemory) ?? this.memory;
      this.histSeq = (stored.get("histSeq") as number) ?? 0;
      this.outSeq = (stored.get("outSeq") as number) ?? 0;
      this.recipients = (stored.get("recipients") as RecipientsView) ?? {
        recipients: configuredRecipients(env.ALERT_RECIPIENTS),
        version: 0,
        updatedAt: null,
        updatedBy: null,
      };
      this.lastEvaluation = (stored.get("lastEvaluation") as EvaluationReport) ?? null;
      this.auditOutbox = (stored.get("auditOutbox") as AlertAuditEvent[] | undefined) ?? [];
      this.adminAuditOutbox = (stored.get("adminAuditOutbox") as Snapshot["adminAuditOutbox"]) ?? null;
    });
  }

  async ping(): Promise<string> {
    return `${Object.keys(this.active).length} active`;
  }

  /** What delivery is configured to do, or why it cannot (health). */
  async deliveryProblem(): Promise<string | null> {
    if (this.env.ALERT_DELIVERY === "local") return null;
    if (this.env.ALERT_DELIVERY !== "email") return `ALERT_DELIVERY must be email or local`;
    if (!this.env.ALERT_EMAIL) return "send_email binding ALERT_EMAIL is not configured";
    if (!v.is(v.pipe(v.string(), v.email()), this.env.ALERT_FROM ?? ""))
      return "ALERT_FROM is not an address";
    if (this.recipients.recipients.length === 0) return "no alert recipients: PUT /admin/alerts/recipients";
    return null;
  }

  /** Keep the gateway's admin audit outbox report; the next evaluation judges it. */
  async recordAdminAuditOutbox(report: AdminAuditOutboxReport, atMs: number): Promise<void> {
    this.adminAuditOutbox = { report, reportedAtMs: atMs };
    await this.ctx.storage.put("adminAuditOutbox", this.adminAuditOutbox);
  }

  /** Read the signals, apply the rules, store, audit and email what changed. */
  async evaluate(actor: Principal): Promise<Result<EvaluationReport>> {
    return this.queue.run(async () => {
      const snapshot = { ...(await readSignals(this.env)), adminAuditOutbox: this.adminAuditOutbox };
      const at = new Date(snapshot.atMs).toISOString();
      const { observations, memory, unobservable } = observe(snapshot, this.memory, this.rules);
      const { active, changes } = applyObservations(
        this.active,
        observations,
        new Set(snapshot.unavailable.map((u) => u.source)),
        at,
        unobservable,
      );
      const rows: AlertHistoryEntry[] = changes.map((c) => ({
        id: ++this.histSeq,
        at,
        key: c.alert.key,
        kind: c.alert.kind,
        action: c.action,
        severity: c.alert.severity,
        detail: c.alert.detail,
        auditSeq: null,
      }));
      const report: EvaluationReport = {
        at,
        unavailable: snapshot.unavailable.map((u) => u.source),
        changes: changes.map((c) => ({ key: c.alert.key, action: c.action, severity: c.alert.severity })),
        active: Object.keys(active).length,
      };
      this.active = active;
      this.memory = memory;
      this.lastEvaluation = report;
      // Stored before anything that could fail: an alert is never lost to an audit or email failure.
      const writes: Record<string, unknown> = {
        active,
        memory,
        histSeq: this.histSeq,
        lastEvaluation: report,
      };
      for (const row of rows) writes[key(HIST, row.id)] = row;
      const sample = equitySample(snapshot.risk?.exposure ?? null, snapshot.atMs);
      if (sample) writes[key(EQ, minuteOf(snapshot.atMs))] = sample;
      await this.ctx.storage.put(writes);

      await this.auditChanges(changes, rows, actor);
      const email = composeAlertEmail(changes, this.environment());
      if (email) await this.deliver(email, this.recipients.recipients);
      await this.prune(HIST, this.histSeq, HISTORY_KEEP);
      await this.prune(EQ, minuteOf(snapshot.atMs), EQUITY_KEEP_MINUTES);
      return ok(report);
    });
  }

  private environment(): string {
    return this.env.ENVIRONMENT || "unnamed";
  }

  /** Append the waiting records, then this evaluation's; a refusal keeps them (in order) for the next one. */
  private async auditChanges(changes: AlertChange[], rows: AlertHistoryEntry[], actor: Principal) {
    const events = changes.map(
      (c): AlertAuditEvent => ({
        type: `monitor.alert_${c.action}`,
        service: "monitor",
        actor,
        payload: {
          key: c.alert.key,
          kind: c.alert.kind,
          severity: c.alert.severity,
          title: c.alert.title,
          detail: c.alert.detail,
          labels: c.alert.labels,
          raisedAt: c.alert.raisedAt,
        },
      }),
    );
    const pending = [...this.auditOutbox, ...events];
    if (pending.length === 0) return;
    const appended = await auditAppendMany(this.env.AUDIT, pending);
    if (appended.ok) {
      const seqs = appended.value.slice(this.auditOutbox.length);
      const writes: Record<string, unknown> = { auditOutbox: [] };
      rows.forEach((row, i) => {
        row.auditSeq = seqs[i]?.seq ?? null;
        writes[key(HIST, row.id)] = row;
      });
      this.auditOutbox = [];
      await this.ctx.storage.put(writes);
    } else {
      console.error(`monitor: alert audit refused, kept for retry: ${appended.error.message}`);
      this.auditOutbox = pending;
      await this.ctx.storage.put("auditOutbox", pending);
    }
  }

  /**
   * Send through Cloudflare Email (staging, production) or, in local dev and tests, only keep what would be
   * sent. Every message is kept in the outbox either way, with how it went.
   */
  private async deliver(email: Composed, to: string[]): Promise<OutboxMessage> {
    const message: OutboxMessage = {
      id: ++this.outSeq,
      createdAt: new Date().toISOString(),
      from: this.env.ALERT_FROM,
      to,
      subject: email.subject,
      text: email.text,
      delivery: "local",
      error: null,
    };
    if (to.length === 0) message.delivery = "no_recipients";
    else if (this.env.ALERT_DELIVERY !== "email") message.delivery = "local";
    else if (!this.env.ALERT_EMAIL) {
      message.delivery = "failed";
      message.error = "send_email binding ALERT_EMAIL is not configured";
    } else {
      try {
        await this.env.ALERT_EMAIL.send({
          from: this.env.ALERT_FROM,
          to,
          subject: email.subject,
          text: email.text,
        });
        message.delivery = "sent";
      } catch (error) {
        message.delivery = "failed";
        message.error = ((error as Error).message || String(error)).slice(0, 500);
      }
    }
    if (message.delivery === "failed") console.error(`monitor: alert email failed: ${message.error}`);
    await this.ctx.storage.put({ [key(OUT, message.id)]: message, outSeq: this.outSeq });
    await this.prune(OUT, this.outSeq, OUTBOX_KEEP);
    return message;
  }

  /** Drop rows older than the newest `keep` (one delete per call: rows are written a few at a time). */
  private async prune(prefix: string, newest: number, keep: number): Promise<void> {
    const cutoff = newest - keep;
    if (cutoff <= 0) return;
    const old = await this.ctx.storage.list({ prefix, end: key(prefix, cutoff + 1), limit: 128 });
    if (old.size > 0) await this.ctx.storage.delete([...old.keys()]);
  }

  async alerts(limit: number): Promise<AlertsView> {
    const recent = await this.ctx.storage.list<AlertHistoryEntry>({ prefix: HIST, reverse: true, limit });
    const active = Object.values(this.active).sort(
      (a, b) =>
        Number(b.severity === "critical") - Number(a.severity === "critical") ||
        a.raisedAt.localeCompare(b.raisedAt),
    );
    return { active, recent: [...recent.values()], lastEvaluation: this.lastEvaluation };
  }

  /** The newest `minutes` minutes of equity samples, oldest first. */
  async equitySeries(minutes: number): Promise<EquitySeries> {
    const from = minuteOf(Date.now()) - minutes + 1;
    const rows = await this.ctx.storage.list<EquitySample>({ prefix: EQ, start: key(EQ, from) });
    return { samples: [...rows.values()], keepMinutes: EQUITY_KEEP_MINUTES };
  }

  async outbox(limit: number): Promise<OutboxMessage[]> {
    return [...(await this.ctx.storage.list<OutboxMessage>({ prefix: OUT, reverse: true, limit })).values()];
  }

  async metrics(): Promise<string> {
    const snapshot = { ...(await readSignals(this.env)), adminAuditOutbox: this.adminAuditOutbox };
    return renderMetrics(snapshot, Object.values(this.active));
  }

  async getRecipients(): Promise<RecipientsView> {
    return this.recipients;
  }

  /**
   * Add or remove one recipient. Audited before it applies (refused if the chain refuses); every recipient before
   * and after is told, so an address added quietly is seen by the others. Removing the last one is refused.
   */
  async changeRecipients(change: RecipientChange, actor: Principal): Promise<Result<RecipientsView>> {
    return this.queue.run(async () => {
      const before = this.recipients.recipients;
      const has = before.includes(change.email);
      if (change.action === "add" && has) return ok(this.recipients);
      if (change.action === "remove" && !has)
        return err(ErrorCode.notFound, `${change.email} is not an alert recipient`);
      const after =
        change.action === "add" ? [...before, change.email].sort() : before.filter((r) => r !== change.email);
      if (after.length === 0)
        return err(
          ErrorCode.conflict,
          "refused: removing the last recipient would leave alerts unsent (add another first)",
        );
      const audited = await auditAppend(this.env.AUDIT, {
        type: "monitor.recipient_changed",
        service: "monitor",
        actor,
        payload: {
          action: change.action,
          email: change.email,
          before,
          after,
          version: this.recipients.version + 1,
        },
      });
      if (!audited.ok)
        return err(ErrorCode.auditUnavailable, `recipients not changed: ${audited.error.message}`);
      this.recipients = {
        recipients: after,
        version: this.recipients.version + 1,
        updatedAt: new Date().toISOString(),
        updatedBy: principalName(actor),
      };
      await this.ctx.storage.put("recipients", this.recipients);
      const everyone = [...new Set([...before, ...after])].sort();
      await this.deliver(
        composeRecipientNotice(change.action, change.email, principalName(actor), this.environment()),
        everyone,
      );
      return ok(this.recipients);
    });
  }
}
