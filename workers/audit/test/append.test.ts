import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { ChainVerifier, GENESIS_HASH } from "@paulp/audit-chain";
import { describe, expect, it } from "vitest";
import { AuditSequencer } from "../src/sequencer";
import { audit, event, sequencer } from "./helpers";

describe("append", () => {
  it("gives 1,000 concurrent appends seq 1..1000 with no gap or duplicate, and the chain verifies", async () => {
    // 200 through the worker's RPC entrypoint and 800 straight at the sequencer, all in flight at once
    // (the local loopback entrypoint slows down super-linearly past a few hundred concurrent calls).
    const receipts = (
      await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          i % 5 === 0
            ? audit()
                .append(event(i))
                .then((r) => (r.ok ? { ok: true as const, value: [r.value] } : r))
            : sequencer().append([event(i)], Date.now()),
        ),
      )
    ).map((r) => (r.ok ? { ok: true as const, value: r.value[0]! } : r));
    const seqs = receipts.map((r) => {
      if (!r.ok) throw new Error(r.error.message);
      return r.value.seq;
    });
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(new Set(receipts.map((r) => (r.ok ? r.value.hash : ""))).size).toBe(1_000);
    // Every receipt is what storage holds, and the stored chain links from genesis.
    await runInDurableObject(sequencer(), async (_obj, state) => {
      const rows = state.storage.sql
        .exec<{ seq: number; body: string }>("SELECT seq, body FROM entries ORDER BY seq")
        .toArray();
      const verifier = new ChainVerifier();
      for (const r of rows) expect(verifier.next(r.body, r.seq)).toBeNull();
      expect(JSON.parse(rows[0]!.body).prevHash).toBe(GENESIS_HASH);
      const byHash = new Map(rows.map((r) => [JSON.parse(r.body).hash as string, r.seq]));
      for (const r of receipts) if (r.ok) expect(byHash.get(r.value.hash)).toBe(r.value.seq);
    });
    const verification = await audit().verify({ mode: "full", actor: { method: "system", subject: "test" } });
    expect(verification).toMatchObject({
      ok: true,
      value: { ok: true, checkedEntries: 1_000, toSeq: 1_000 },
    });
  });

  it("appendMany writes all events in order atomically, or none when one is bad", async () => {
    const before = await audit().status();
    const head = before.ok ? before.value.headSeq : -1;
    const many = await audit().appendMany([event(1), event(2), event(3)]);
    expect(many.ok && many.value.map((r) => r.seq)).toEqual([head + 1, head + 2, head + 3]);
    const bad = await audit().appendMany([event(4), { ...event(5), payload: { x: Number.NaN } }]);
    expect(bad).toMatchObject({
      ok: false,
      error: { code: "validation_failed", message: expect.stringMatching(/^events\[1\]\.payload/) },
    });
    const after = await audit().status();
    expect(after.ok && after.value.headSeq).toBe(head + 3);
  });

  it("rejects invalid events with validation_failed and writes nothing", async () => {
    const before = await audit().status();
    const cases: [unknown, RegExp][] = [
      [{ ...event(1), type: "NotDotted" }, /^type/],
      [{ ...event(1), type: "risk." }, /^type/],
      [{ ...event(1), service: "mallory" }, /^service/],
      [{ ...event(1), actor: { method: "token", subject: "" } }, /^actor\.subject/],
      [{ ...event(1), actor: { method: "root", subject: "x" } }, /^actor\.method/],
      [{ ...event(1), payload: { bad: Number.POSITIVE_INFINITY } }, /^payload.*not representable/],
      [{ ...event(1), payload: { s: "\ud800" } }, /^payload.*lone surrogate/],
      [{ ...event(1), payload: "x".repeat(70_000) }, /^payload: exceeds/],
      // Bounded so no single event can make a row the store refuses (and fail the calls grouped with it).
      [{ ...event(1), type: `risk.${"a".repeat(200)}` }, /^type/],
      [
        { ...event(1), actor: { method: "access", subject: "x", email: `${"a".repeat(400)}@example.com` } },
        /^actor\.email/,
      ],
      // biome-ignore lint/suspicious/noSparseArray: a hole is what is refused
      [{ ...event(1), payload: [1, , 3] }, /^payload.*holes/],
      [{ type: "risk.decision", service: "risk", actor: { method: "system", subject: "x" } }, /payload/],
      ["not an object", /.+/],
    ];
    for (const [input, message] of cases) {
      const result = await audit().append(input as never);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe("validation_failed");
        expect(result.error.message).toMatch(message);
      }
    }
    expect(await audit().appendMany([] as never)).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
    const after = await audit().status();
    expect(after.ok && after.value.headSeq).toBe(before.ok && before.value.headSeq);
  });

  it("entry times never go backwards, also across a restart (the clock is the sequencer's, floored at the head's)", async () => {
    const stub = env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName("clock"));
    const first = await stub.append([event(1), event(2)], 0); // the caller's clock is ignored
    expect(first.ok).toBe(true);
    const times = await runInDurableObject(stub, async (_obj, state) =>
      state.storage.sql
        .exec<{ body: string }>("SELECT body FROM entries ORDER BY seq")
        .toArray()
        .map((r) => (JSON.parse(r.body) as { ts: string }).ts),
    );
    expect(new Set(times).size).toBe(1); // one commit group, one time
    expect(Date.parse(times[0]!)).toBeGreaterThan(Date.now() - 60_000);
    // A fresh instance (as after eviction) starts no earlier than the head's time.
    const lastTs = await runInDurableObject(
      stub,
      async (_obj, state) => (new AuditSequencer(state, env) as unknown as { lastTs: number }).lastTs,
    );
    expect(lastTs).toBe(Date.parse(times[1]!));
  });

  it("refuses appends (fail closed) when the stored head is unreadable", async () => {
    await audit().append(event(1));
    const id = env.AUDIT_SEQUENCER.idFromName("broken-head");
    const stub = env.AUDIT_SEQUENCER.get(id);
    await stub.append([event(1)], Date.now());
    await runInDurableObject(stub, async (_obj, state) => {
      state.storage.sql.exec("UPDATE entries SET body = 'garbage' WHERE seq = 1");
    });
    // A fresh instance (as after eviction) reads its head from storage.
    const fresh = await runInDurableObject(stub, async (_obj, state) =>
      new AuditSequencer(state, env).append([event(2)], Date.now()),
    );
    const rows = await runInDurableObject(stub, async (_obj, state) =>
      state.storage.sql.exec("SELECT seq FROM entries").toArray(),
    );
    expect(fresh).toMatchObject({ ok: false, error: { code: "integrity_broken" } });
    expect(rows).toHaveLength(1);
  });
});
