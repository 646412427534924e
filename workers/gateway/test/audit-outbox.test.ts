import { type AuditReceipt, ErrorCode, err, ok, type Result } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import {
  type AdminAuditEvent,
  drain,
  enqueueRecord,
  INITIAL_STATE,
  type KeyedAppend,
  OUTBOX_MAX_RECORDS,
  type OutboxRecord,
  type OutboxState,
  type OutboxStore,
  outboxCheck,
  outboxStats,
  RETRY_MAX_MS,
  retryDelayMs,
} from "../src/audit-outbox";

// The outbox's logic on its own (the Durable Object around it: admin-audit-outbox.test.ts).

class MemoryStore implements OutboxStore {
  records: OutboxRecord[] = [];
  private s: OutboxState = { ...INITIAL_STATE };
  private nextId = 1;
  count = () => this.records.length;
  oldestAt = () => this.records[0]?.enqueuedAt ?? null;
  add = (key: string, event: AdminAuditEvent, at: number) => {
    this.records.push({ id: this.nextId++, key, event, enqueuedAt: at });
  };
  oldest = (limit: number) => this.records.slice(0, limit);
  remove = (id: number) => {
    this.records = this.records.filter((r) => r.id !== id);
  };
  state = () => ({ ...this.s });
  setState = (s: OutboxState) => {
    this.s = { ...s };
  };
}

const event = (n: number): AdminAuditEvent => ({
  type: "gateway.admin_request",
  service: "gateway",
  actor: { method: "system", subject: "test" },
  payload: {
    requestId: `req-${n}`,
    method: "GET",
    route: "/admin/x",
    path: "/admin/x",
    status: 200,
    outcome: "ok",
  },
});

/** An append that answers from a script of outcomes, recording the keys it was asked. */
function scripted(outcomes: ("ok" | "down" | "refused")[]) {
  const keys: string[] = [];
  const append: KeyedAppend = async (_event, key): Promise<Result<AuditReceipt>> => {
    keys.push(key);
    const next = outcomes.shift() ?? "ok";
    if (next === "down") return err(ErrorCode.auditUnavailable, "down");
    if (next === "refused") return err(ErrorCode.validationFailed, "bad");
    return ok({ seq: keys.length, hash: "0".repeat(64) });
  };
  return { append, keys };
}

describe("audit outbox logic", () => {
  it("backs off 1 s, 2 s, 4 s … up to 5 minutes", () => {
    expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelayMs(9)).toBe(256_000);
    expect(retryDelayMs(10)).toBe(RETRY_MAX_MS);
    expect(retryDelayMs(1_000)).toBe(RETRY_MAX_MS);
  });

  it("stops at the first failure (order kept), retries the same record with the same key, then goes on", async () => {
    const store = new MemoryStore();
    for (const n of [1, 2, 3]) enqueueRecord(store, `k-${n}`, event(n), 1_000);
    const { append, keys } = scripted(["ok", "down", "down", "ok", "ok"]);
    expect(await drain(store, append, () => 5_000)).toEqual({ appended: 1, left: 2, nextRunAt: 6_000 });
    expect(await drain(store, append, () => 6_000)).toEqual({ appended: 0, left: 2, nextRunAt: 8_000 });
    expect(store.state()).toMatchObject({ failures: 2, lastError: "audit_unavailable: down" });
    expect(await drain(store, append, () => 8_000)).toEqual({ appended: 2, left: 0, nextRunAt: null });
    expect(keys).toEqual(["k-1", "k-2", "k-2", "k-2", "k-3"]);
    expect(store.state()).toMatchObject({ failures: 0, nextAttemptAt: 0, lastError: null });
  });

  it("drops past the bound, fails health, and reports the drops once the outbox drains", async () => {
    const store = new MemoryStore();
    for (let n = 0; n < OUTBOX_MAX_RECORDS; n++) store.add(`k-${n}`, event(n), 0);
    expect(enqueueRecord(store, "over-1", event(-1), 10_000)).toEqual({
      queued: false,
      depth: OUTBOX_MAX_RECORDS,
    });
    expect(enqueueRecord(store, "over-2", event(-2), 12_000).queued).toBe(false);
    const stats = outboxStats(store, 20_000);
    expect(stats).toMatchObject({ depth: OUTBOX_MAX_RECORDS, oldestAgeSeconds: 20, dropped: 2 });
    expect(outboxCheck(stats)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^2 admin request/),
    });
    store.records = store.records.slice(0, 1);
    const reported: unknown[] = [];
    const append: KeyedAppend = async (e, key) => {
      reported.push({ type: e.type, key, payload: e.payload });
      return ok({ seq: 1, hash: "0".repeat(64) });
    };
    expect(await drain(store, append, () => 30_000)).toMatchObject({ left: 0, nextRunAt: null });
    expect(reported.at(-1)).toEqual({
      type: "gateway.admin_audit_dropped",
      key: "gateway.admin_audit_dropped:10000:12000:2",
      payload: {
        dropped: 2,
        firstDroppedAt: new Date(10_000).toISOString(),
        lastDroppedAt: new Date(12_000).toISOString(),
      },
    });
    expect(outboxCheck(outboxStats(store, 30_000))).toMatchObject({ ok: true });
  });

  it("a record the chain refuses as invalid is dropped and counted, not retried forever in front of the rest", async () => {
    const store = new MemoryStore();
    for (const n of [1, 2]) enqueueRecord(store, `k-${n}`, event(n), 0);
    const { append, keys } = scripted(["refused", "ok", "ok"]);
    expect(await drain(store, append, () => 1_000)).toEqual({ appended: 1, left: 0, nextRunAt: null });
    expect(keys).toEqual(["k-1", "k-2", "gateway.admin_audit_dropped:1000:1000:1"]);
    expect(store.state().dropped).toBe(0);
  });

  it("health is informative while records wait briefly and fails once the oldest is over 5 minutes", () => {
    const store = new MemoryStore();
    expect(outboxCheck(outboxStats(store, 0))).toEqual({
      name: "admin_audit_outbox",
      ok: true,
      detail: "empty: every admin request is in the chain",
    });
    enqueueRecord(store, "k-1", event(1), 0);
    expect(outboxCheck(outboxStats(store, 300_000)).ok).toBe(true);
    expect(outboxCheck(outboxStats(store, 301_000))).toMatchObject({ ok: false });
  });
});
