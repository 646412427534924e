import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { audit, event, sequencer } from "./helpers";

// An outbox that retries an append after a timeout cannot know whether the first attempt was written: with the
// record's own key, the retry answers the first entry's receipt and nothing is recorded twice.
describe("append with an idempotency key", () => {
  const headSeq = async () => {
    const s = await audit().status();
    if (!s.ok) throw new Error(s.error.message);
    return s.value.headSeq;
  };

  it("records a keyed event once: a retry answers the same receipt and writes nothing", async () => {
    const first = await audit().append(event(1), { idempotencyKey: "outbox:record-0001" });
    if (!first.ok) throw new Error(first.error.message);
    const head = await headSeq();
    const retry = await audit().append(event(1), { idempotencyKey: "outbox:record-0001" });
    expect(retry).toEqual(first);
    expect(await headSeq()).toBe(head);
    // Another key, and no key at all, are new records.
    const other = await audit().append(event(1), { idempotencyKey: "outbox:record-0002" });
    const unkeyed = await audit().append(event(1));
    expect(other.ok && other.value.seq).toBe(head + 1);
    expect(unkeyed.ok && unkeyed.value.seq).toBe(head + 2);
  });

  it("concurrent appends with one key (one group commit) record one entry, and every caller gets its receipt", async () => {
    const head = await headSeq();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => sequencer().append([event(7)], Date.now(), "outbox:same-key-7")),
    );
    const receipts = answers.map((a) => (a.ok ? a.value[0] : "failed"));
    expect(new Set(receipts.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(receipts[0]).toMatchObject({ seq: head + 1 });
    expect(await headSeq()).toBe(head + 1);
  });

  it("keeps the key in storage beside the entry (it survives a restart)", async () => {
    const first = await audit().append(event(9), { idempotencyKey: "outbox:restart-0009" });
    // The key is a row of the sequencer's storage, written in the entry's transaction.
    await runInDurableObject(sequencer(), async (_obj, state) => {
      const rows = state.storage.sql
        .exec<{ seq: number }>("SELECT seq FROM idempotency_keys WHERE key = ?", "outbox:restart-0009")
        .toArray();
      expect(rows.map((r) => r.seq)).toEqual([first.ok ? first.value.seq : -1]);
    });
  });

  it("refuses (conflict) a key recorded for an event of another type or service, and writes nothing", async () => {
    const first = await audit().append(event(11), { idempotencyKey: "outbox:shared-key-11" });
    expect(first.ok).toBe(true);
    const head = await headSeq();
    const otherType = await audit().append(
      { ...event(11), type: "test.other_event" },
      { idempotencyKey: "outbox:shared-key-11" },
    );
    expect(otherType).toMatchObject({
      ok: false,
      error: { code: "conflict", message: expect.stringContaining("was recorded for another event") },
    });
    const otherService = await audit().append(
      { ...event(11), service: "gateway" },
      { idempotencyKey: "outbox:shared-key-11" },
    );
    expect(otherService).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect(await headSeq()).toBe(head);
  });

  it("refuses a malformed key before anything is written", async () => {
    const head = await headSeq();
    for (const idempotencyKey of ["short", "has space in it", "x".repeat(129), 42]) {
      const r = await audit().append(event(3), { idempotencyKey } as never);
      expect(r).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    }
    expect(await headSeq()).toBe(head);
  });
});
