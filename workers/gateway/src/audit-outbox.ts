import {
  type AuditEvent,
  type AuditReceipt,
  ErrorCode,
  type HealthCheck,
  type Result,
} from "@paulp/contracts";

/**
 * The admin request records' outbox, as plain logic over a store and an append (no storage, no clock, no
 * binding): the Durable Object in audit-outbox-object.ts is its shell. A record is kept until the audit chain
 * acknowledges it, appended in the order it came, each with its own idempotency key (a retry after an ambiguous
 * timeout answers the first receipt, never a second entry). A failed append keeps the record and waits a
 * backoff (1 s doubling to 5 min) before the next attempt. The outbox is bounded: past OUTBOX_MAX_RECORDS a
 * record is dropped and counted, health fails, and the count is appended as `gateway.admin_audit_dropped` once
 * the outbox drains, so the gap is on the chain.
 */

/** The records the gateway audits for every admin request. */
export type AdminAuditEvent = AuditEvent<"gateway", "gateway.admin_request" | "gateway.auth_rate_limited">;

/** Most records kept: past this a record is dropped (counted and reported), not stored. */
export const OUTBOX_MAX_RECORDS = 10_000;
/** First retry delay after a failed append; doubled each failure up to RETRY_MAX_MS. */
export const RETRY_MIN_MS = 1_000;
export const RETRY_MAX_MS = 5 * 60_000;
/** Health fails once the oldest waiting record is older than this. */
export const OUTBOX_STALE_SECONDS = 5 * 60;
/** Most records appended in one run (one at a time, in order); more left waits for the next run (at once). */
export const DRAIN_MAX_PER_RUN = 200;

/** One waiting record. */
export interface OutboxRecord {
  id: number;
  key: string;
  event: AdminAuditEvent;
  enqueuedAt: number;
}

/** What the outbox remembers besides its records. */
export interface OutboxState {
  /** Failed appends in a row (0 after a success). */
  failures: number;
  /** No attempt before this time (ms), except the alarm's; 0 when not backing off. */
  nextAttemptAt: number;
  lastError: string | null;
  /** Records dropped and not yet reported to the chain. */
  dropped: number;
  firstDroppedAt: number | null;
  lastDroppedAt: number | null;
}

export const INITIAL_STATE: OutboxState = {
  failures: 0,
  nextAttemptAt: 0,
  lastError: null,
  dropped: 0,
  firstDroppedAt: null,
  lastDroppedAt: null,
};

/** The outbox's storage, synchronous (the shell's SQLite). */
export interface OutboxStore {
  count(): number;
  /** The oldest waiting record's enqueue time, if any. */
  oldestAt(): number | null;
  add(key: string, event: AdminAuditEvent, at: number): void;
  /** Up to `limit` records, oldest first. */
  oldest(limit: number): OutboxRecord[];
  remove(id: number): void;
  state(): OutboxState;
  setState(state: OutboxState): void;
}

/** Append one event to the chain at most once per key (the shell's `auditAppend` with the idempotency key). */
export type KeyedAppend = (
  event: AdminAuditEvent | DroppedReport,
  idempotencyKey: string,
) => Promise<Result<AuditReceipt>>;

/** The record of dropped records, appended when the outbox drains. */
export type DroppedReport = AuditEvent<"gateway", "gateway.admin_audit_dropped">;

/** Keep a record; a full outbox drops it and counts it instead. */
export function enqueueRecord(
  store: OutboxStore,
  key: string,
  event: AdminAuditEvent,
  now: number,
): { queued: boolean; depth: number } {
  const depth = store.count();
  if (depth >= OUTBOX_MAX_RECORDS) {
    countDropped(store, now);
    return { queued: false, depth };
  }
  store.add(key, event, now);
  return { queued: true, depth: depth + 1 };
}

function countDropped(store: OutboxStore, now: number): void {
  const s = store.state();
  store.setState({
    ...s,
    dropped: s.dropped + 1,
    firstDroppedAt: s.firstDroppedAt ?? now,
    lastDroppedAt: now,
  });
}

/** The wait before the next attempt after `failures` failed appends in a row: 1 s, 2 s, 4 s, … 5 min. */
export function retryDelayMs(failures: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, Math.min(failures - 1, 30)));
}

/** What one run did, and when the next should happen (null: nothing left). */
export interface DrainOutcome {
  appended: number;
  left: number;
  nextRunAt: number | null;
}

/**
 * Append waiting records oldest first, one at a time, stopping at the first failure (order is kept: nothing
 * after a failed record is appended before it). A record the chain refuses as invalid can never be recorded:
 * it is dropped and counted (not retried forever, blocking all behind it). When no record is left, dropped ones
 * are reported to the chain.
 */
export async function drain(
  store: OutboxStore,
  append: KeyedAppend,
  now: () => number,
): Promise<DrainOutcome> {
  let appended = 0;
  for (const record of store.oldest(DRAIN_MAX_PER_RUN)) {
    const result = await append(record.event, record.key);
    if (!result.ok && result.error.code === ErrorCode.validationFailed) {
      console.error(`admin request record ${record.key} refused by the audit chain: ${result.error.message}`);
      store.remove(record.id);
      countDropped(store, now());
      continue;
    }
    if (!result.ok) return failed(store, appended, `${result.error.code}: ${result.error.message}`, now());
    store.remove(record.id);
    appended++;
  }
  const left = store.count();
  if (left === 0) {
    const s = store.state();
    if (s.dropped > 0) {
      const report = droppedReport(s);
      const result = await append(report.event, report.key);
      if (!result.ok) return failed(store, appended, `${result.error.code}: ${result.error.message}`, now());
      // Drops counted while the report was on its way stay for the next report.
      const after = store.state();
      const remaining = Math.max(0, after.dropped - s.dropped);
      store.setState({
        ...after,
        dropped: remaining,
        firstDroppedAt: remaining > 0 ? after.lastDroppedAt : null,
        lastDroppedAt: remaining > 0 ? after.lastDroppedAt : null,
      });
    }
  }
  const settled = store.state();
  // Written only when a failure is to be forgotten: most runs follow a success and change nothing.
  if (settled.failures !== 0 || settled.nextAttemptAt !== 0 || settled.lastError !== null)
    store.setState({ ...settled, failures: 0, nextAttemptAt: 0, lastError: null });
  const waiting = store.count() + (store.state().dropped > 0 ? 1 : 0);
  return { appended, left: waiting, nextRunAt: waiting > 0 ? now() : null };
}

function failed(store: OutboxStore, appended: number, error: string, now: number): DrainOutcome {
  const s = store.state();
  const failures = s.failures + 1;
  const nextAttemptAt = now + retryDelayMs(failures);
  store.setState({ ...s, failures, nextAttemptAt, lastError: error });
  return { appended, left: store.count(), nextRunAt: nextAttemptAt };
}

/** The dropped-records report for `s`, keyed by what it reports (a retry of the same report is one entry). */
function droppedReport(s: OutboxState): { key: string; event: DroppedReport } {
  const first = s.firstDroppedAt ?? 0;
  const last = s.lastDroppedAt ?? first;
  return {
    key: `gateway.admin_audit_dropped:${first}:${last}:${s.dropped}`,
    event: {
      type: "gateway.admin_audit_dropped",
      service: "gateway",
      actor: { method: "system", subject: "admin-audit-outbox" },
      payload: {
        dropped: s.dropped,
        firstDroppedAt: new Date(first).toISOString(),
        lastDroppedAt: new Date(last).toISOString(),
      },
    },
  };
}

/** The outbox as health and monitoring show it. */
export interface OutboxStats {
  depth: number;
  oldestAgeSeconds: number | null;
  dropped: number;
  failures: number;
  lastError: string | null;
  nextAttemptAt: string | null;
}

export function outboxStats(store: OutboxStore, now: number): OutboxStats {
  const s = store.state();
  const oldest = store.oldestAt();
  return {
    depth: store.count(),
    oldestAgeSeconds: oldest === null ? null : Math.max(0, Math.floor((now - oldest) / 1000)),
    dropped: s.dropped,
    failures: s.failures,
    lastError: s.lastError,
    nextAttemptAt: s.nextAttemptAt > 0 ? new Date(s.nextAttemptAt).toISOString() : null,
  };
}

/**
 * The outbox's health check: informative while records wait briefly (an audit hiccup), failing when the oldest
 * has waited past OUTBOX_STALE_SECONDS or when any record was dropped (the chain has a gap).
 */
export function outboxCheck(stats: OutboxStats): HealthCheck {
  const name = "admin_audit_outbox";
  if (stats.dropped > 0)
    return {
      name,
      ok: false,
      detail: `${stats.dropped} admin request record(s) DROPPED (outbox full at ${OUTBOX_MAX_RECORDS} or refused by the chain): the audit chain has a gap; ${waiting(stats)}`,
    };
  if (stats.oldestAgeSeconds !== null && stats.oldestAgeSeconds > OUTBOX_STALE_SECONDS)
    return {
      name,
      ok: false,
      detail: `${waiting(stats)}, past ${OUTBOX_STALE_SECONDS} s: the audit chain is not taking them`,
    };
  return {
    name,
    ok: true,
    detail: stats.depth === 0 ? "empty: every admin request is in the chain" : waiting(stats),
  };
}

function waiting(stats: OutboxStats): string {
  if (stats.depth === 0) return "no record waiting";
  const last = stats.lastError ? ` (last append: ${stats.lastError.slice(0, 200)})` : "";
  return `${stats.depth} record(s) waiting, the oldest ${stats.oldestAgeSeconds} s${last}`;
}
