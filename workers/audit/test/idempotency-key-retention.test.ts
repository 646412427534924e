import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ChainStore } from "../src/chain-store";
import { KEY_PRUNE_BATCH, KEY_PRUNE_EVERY, KEY_RETENTION_MS, KeyPruner } from "../src/idempotency-keys";
import { audit, event, sequencer } from "./helpers";

// A key only has to outlive the last retry of its record: kept KEY_RETENTION_MS after its entry, then pruned in
// batches as keyed appends are written. Time passes by moving a key's recorded time back (the rows' own clock).
describe("idempotency key retention", () => {
  const keyRows = () =>
    runInDurableObject(sequencer(), (_obj, state) =>
      state.storage.sql.exec<{ key: string }>("SELECT key FROM idempotency_keys ORDER BY key").toArray(),
    ).then((rows) => rows.map((r) => r.key));

  /** Move keys' recorded time back by `ms`. */
  const age = (ms: number, ...keys: string[]) =>
    runInDurableObject(sequencer(), (_obj, state) => {
      for (const key of keys)
        state.storage.sql.exec(
          "UPDATE idempotency_keys SET recorded_at = recorded_at - ? WHERE key = ?",
          ms,
          key,
        );
    });

  /** Exactly enough keyed appends to run one prune (the pruner's count is below KEY_PRUNE_EVERY between prunes). */
  const triggerPrune = (tag: string) =>
    Promise.all(
      Array.from({ length: KEY_PRUNE_EVERY }, (_, i) =>
        audit().append(event(i), { idempotencyKey: `retention:${tag}:${i}` }),
      ),
    );

  it("prunes a key past the retention, which then appends anew; a key inside it still answers its first receipt", async () => {
    const expired = await audit().append(event(1), { idempotencyKey: "retention:expired-key" });
    const kept = await audit().append(event(2), { idempotencyKey: "retention:kept-key" });
    if (!expired.ok || !kept.ok) throw new Error("append failed");
    await age(KEY_RETENTION_MS + 1, "retention:expired-key");
    // Inside the retention by an hour: a slow machine cannot carry it past before the prune.
    await age(KEY_RETENTION_MS - 60 * 60_000, "retention:kept-key");
    // Past the retention but not yet pruned, a key still answers (pruning late only keeps a row longer).
    expect(await audit().append(event(1), { idempotencyKey: "retention:expired-key" })).toEqual(expired);

    await triggerPrune("first");
    const keys = await keyRows();
    expect(keys).not.toContain("retention:expired-key");
    expect(keys).toContain("retention:kept-key");

    const again = await audit().append(event(1), { idempotencyKey: "retention:expired-key" });
    expect(again.ok && again.value.seq).toBeGreaterThan(expired.value.seq);
    expect(await audit().append(event(2), { idempotencyKey: "retention:kept-key" })).toEqual(kept);
  });

  it("prunes at most KEY_PRUNE_BATCH keys at a time, the oldest first", async () => {
    const extra = 5;
    await runInDurableObject(sequencer(), (_obj, state) => {
      for (let i = 0; i < KEY_PRUNE_BATCH + extra; i++)
        state.storage.sql.exec(
          "INSERT INTO idempotency_keys (key, seq, type, service, recorded_at) VALUES (?, 1, 'risk.decision', 'risk', ?)",
          `retention:backlog:${String(i).padStart(4, "0")}`,
          1_000 + i,
        );
    });
    await triggerPrune("batch");
    const left = (await keyRows()).filter((k) => k.startsWith("retention:backlog:"));
    expect(left).toEqual(
      Array.from(
        { length: extra },
        (_, i) => `retention:backlog:${String(KEY_PRUNE_BATCH + i).padStart(4, "0")}`,
      ),
    );
  });

  it("a failed prune leaves the appends alone and is tried again KEY_PRUNE_EVERY keyed appends later", () => {
    let calls = 0;
    const pruner = new KeyPruner({
      deleteKeysRecordedBefore: (before, limit) => {
        calls++;
        expect([before, limit]).toEqual([10 * KEY_RETENTION_MS - KEY_RETENTION_MS, KEY_PRUNE_BATCH]);
        if (calls === 1) throw new Error("disk full");
        return 3;
      },
    });
    expect(pruner.written(KEY_PRUNE_EVERY - 1, 10 * KEY_RETENTION_MS)).toBe(0);
    expect(calls).toBe(0);
    expect(pruner.written(1, 10 * KEY_RETENTION_MS)).toBe(0);
    expect(pruner.written(KEY_PRUNE_EVERY - 1, 10 * KEY_RETENTION_MS)).toBe(0);
    expect(calls).toBe(1);
    expect(pruner.written(1, 10 * KEY_RETENTION_MS)).toBe(3);
    expect(calls).toBe(2);
  });

  it("a key table from before keys had a time gains one: its keys count as recorded at the migration", async () => {
    const stub = env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName("legacy-key-table"));
    await runInDurableObject(stub, (_obj, state) => {
      const sql = state.storage.sql;
      sql.exec(`DROP TABLE idempotency_keys;
        CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, type TEXT NOT NULL, service TEXT NOT NULL);`);
      sql.exec("INSERT INTO idempotency_keys VALUES ('legacy:key-0001', 1, 'risk.decision', 'risk')");
      const store = new ChainStore(state.storage, 5_000);
      expect(store.keyedEntry("legacy:key-0001")).toMatchObject({ seq: 1, recordedAt: 5_000 });
      store.insertEntries(
        [],
        [{ key: "new:key-0002", seq: 2, type: "t", service: "risk", recordedAt: 9_000 }],
      );
      expect(store.deleteKeysRecordedBefore(5_001, 10)).toBe(1);
      expect(store.keyedEntry("legacy:key-0001")).toBeUndefined();
      expect(store.keyedEntry("new:key-0002")).toMatchObject({ recordedAt: 9_000 });
    });
  });
});
