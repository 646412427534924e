import { DurableObject } from "cloudflare:workers";
import type { AdminAuditOutboxReport, AuditService } from "@paulp/contracts";
import { auditAppend, rpc } from "@paulp/kit";
import {
  type AdminAuditEvent,
  type DrainOutcome,
  drain,
  enqueueRecord,
  INITIAL_STATE,
  type OutboxRecord,
  type OutboxState,
  type OutboxStats,
  type OutboxStore,
  outboxStats,
  RETRY_MIN_MS,
} from "./audit-outbox";
import type { Env } from "./env";

/** The one instance's name. */
export const OUTBOX_NAME = "admin-requests";
/** How long one append may take before it counts as failed (and is retried with the same key). */
export const APPEND_TIMEOUT_MS = 5_000;
/** How long a report to the monitor may take (best effort: the next run reports again). */
const MONITOR_TIMEOUT_MS = 2_000;

/** The outbox's SQLite storage: the records in order, and one row of state. */
class SqlOutboxStore implements OutboxStore {
  private readonly sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS records (
        id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, event TEXT NOT NULL, enqueued_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);`);
  }

  count(): number {
    return Number(this.sql.exec("SELECT COUNT(*) AS n FROM records").one().n);
  }

  oldestAt(): number | null {
    const row = this.sql.exec<{ at: number | null }>("SELECT MIN(enqueued_at) AS at FROM records").one();
    return row.at === null ? null : Number(row.at);
  }

  add(key: string, event: AdminAuditEvent, at: number): void {
    this.sql.exec(
      "INSERT INTO records (key, event, enqueued_at) VALUES (?, ?, ?)",
      key,
      JSON.stringify(event),
      at,
    );
  }

  oldest(limit: number): OutboxRecord[] {
    return this.sql
      .exec<{ id: number; key: string; event: string; enqueued_at: number }>(
        "SELECT id, key, event, enqueued_at FROM records ORDER BY id LIMIT ?",
        limit,
      )
      .toArray()
      .map((r) => ({
        id: Number(r.id),
        key: r.key,
        event: JSON.parse(r.event) as AdminAuditEvent,
        enqueuedAt: Number(r.enqueued_at),
      }));
  }

  remove(id: number): void {
    this.sql.exec("DELETE FROM records WHERE id = ?", id);
  }

  state(): OutboxState {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'state'").toArray()[0];
    return row ? { ...INITIAL_STATE, ...(JSON.parse(row.v) as Partial<OutboxState>) } : { ...INITIAL_STATE };
  }

  setState(state: OutboxState): void {
    this.setMeta("state", state);
  }

  /** What the monitor was last told (null: nothing, or an empty outbox). */
  toldMonitor(): AdminAuditOutboxReport | null {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'monitor'").toArray()[0];
    return row ? (JSON.parse(row.v) as AdminAuditOutboxReport | null) : null;
  }

  setToldMonitor(report: AdminAuditOutboxReport | null): void {
    this.setMeta("monitor", report);
  }

  private setMeta(k: string, value: unknown): void {
    this.sql.exec(
      "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
      k,
      JSON.stringify(value),
    );
  }
}

/**
 * The admin request records' outbox (one instance, OUTBOX_NAME): a thin shell over audit-outbox.ts that owns the
 * SQLite storage, the wall clock, the AUDIT binding and the retry alarm. The gateway's middleware `enqueue`s a
 * record before it answers (a fast, local write) and asks for `deliver` after; a failed append is retried by the
 * alarm with backoff until the chain acknowledges it. Runs are serialised: one drain at a time.
 */
export class AdminAuditOutbox extends DurableObject<Env> {
  private readonly store: SqlOutboxStore;
  /** Where records are appended: the AUDIT binding (a test swaps in a double that fails on request). */
  private audit: AuditService;
  private runs: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new SqlOutboxStore(ctx.storage);
    this.audit = env.AUDIT;
  }

  /** Keep one record (or count it dropped when full); a backstop alarm makes sure it is delivered. */
  async enqueue(key: string, event: AdminAuditEvent): Promise<{ queued: boolean; depth: number }> {
    const now = Date.now();
    const result = enqueueRecord(this.store, key, event, now);
    if (!result.queued) {
      console.error(
        `admin audit outbox full (${result.depth} records): admin request record ${key} DROPPED and counted`,
      );
      // The first drop is news for the monitor at once (critical); later ones wait for the next run's report.
      if ((this.store.toldMonitor()?.dropped ?? 0) === 0) await this.tellMonitor();
    }
    if ((await this.ctx.storage.getAlarm()) === null) {
      const { nextAttemptAt } = this.store.state();
      await this.ctx.storage.setAlarm(Math.max(nextAttemptAt, now + RETRY_MIN_MS));
    }
    return result;
  }

  /** Append what waits now, unless a failed append's backoff has not run out (the alarm retries then). */
  deliver(): Promise<DrainOutcome | null> {
    return this.run(false);
  }

  override async alarm(): Promise<void> {
    await this.run(true);
  }

  /** Depth, oldest age, drops, last error: what health and monitoring show. */
  async stats(): Promise<OutboxStats> {
    return outboxStats(this.store, Date.now());
  }

  private run(force: boolean): Promise<DrainOutcome | null> {
    const next = this.runs.then(() => this.drainNow(force));
    this.runs = next.catch(() => undefined);
    return next;
  }

  private async drainNow(force: boolean): Promise<DrainOutcome | null> {
    if (!force && Date.now() < this.store.state().nextAttemptAt) return null;
    const audit = this.audit;
    const outcome = await drain(
      this.store,
      (event, idempotencyKey) => auditAppend(audit, event, APPEND_TIMEOUT_MS, { idempotencyKey }),
      () => Date.now(),
    );
    // An empty outbox keeps whatever backstop alarm is set: one that finds nothing costs less than deleting and
    // setting an alarm around every admin request (the order path's latency), and it does not set itself again.
    if (outcome.nextRunAt !== null) await this.ctx.storage.setAlarm(outcome.nextRunAt);
    if (outcome.left > 0 && outcome.nextRunAt !== null && outcome.nextRunAt > Date.now())
      console.error(
        `admin audit outbox: ${outcome.left} record(s) waiting, next attempt at ${new Date(outcome.nextRunAt).toISOString()} (${this.store.state().lastError})`,
      );
    await this.tellMonitor();
    return outcome;
  }

  /**
   * Report the figures to the monitor (its `audit_outbox_backlog` alert): after every run while records wait or
   * were dropped (at least every 5 minutes, the longest backoff), and once more when the outbox is empty again, so
   * the alert clears. Best effort: a monitor that does not answer is told at the next run.
   */
  private async tellMonitor(): Promise<void> {
    const stats = outboxStats(this.store, Date.now());
    const backlog = stats.depth > 0 || stats.dropped > 0;
    if (!backlog && this.store.toldMonitor() === null) return;
    const report: AdminAuditOutboxReport = {
      depth: stats.depth,
      oldestAgeSeconds: stats.oldestAgeSeconds,
      dropped: stats.dropped,
      lastError: stats.lastError?.slice(0, 300) ?? null,
    };
    const told = await rpc(this.env.MONITOR, (monitor) => monitor.reportAdminAuditOutbox(report), {
      what: "admin audit outbox report",
      timeoutMs: MONITOR_TIMEOUT_MS,
    });
    if (told.ok) this.store.setToldMonitor(backlog ? report : null);
    else console.error(`admin audit outbox: the monitor was not told (${told.error.message})`);
  }
}
