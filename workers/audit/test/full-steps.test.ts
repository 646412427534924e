import { runInDurableObject } from "cloudflare:test";
import type { AuditVerification } from "@paulp/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { type AuditSequencer, FULL_JOB_IDLE_MS } from "../src/sequencer";
import { audit, event, sequencer } from "./helpers";

const actor = { method: "system" as const, subject: "test" };

/** One step of a full verification with an R2 budget of `maxCopies` objects, at `nowMs`. */
async function step(maxCopies: number, nowMs = Date.now()): Promise<AuditVerification> {
  const r = await runInDurableObject(sequencer(), (instance) =>
    (instance as AuditSequencer).verify("full", nowMs, maxCopies),
  );
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const sql = <T>(fn: (s: SqlStorage) => T) =>
  runInDurableObject(sequencer(), async (_obj, state) => fn(state.storage.sql));

const anchors: { anchorNo: number; toSeq: number }[] = [];

beforeAll(async () => {
  // Six mirror batches of 5 entries; an anchor after every second one (toSeq 10, 20, 30); 3 entries
  // appended after the last anchor and not mirrored.
  for (let round = 0; round < 6; round++) {
    await audit().appendMany(Array.from({ length: 5 }, (_, k) => event(round * 5 + k)));
    await runInDurableObject(sequencer(), (instance) => (instance as AuditSequencer).flushMirror());
    if (round % 2 === 1) {
      const a = await audit().anchorNow(actor);
      if (!a.ok || !a.value) throw new Error("no anchor");
      anchors.push({ anchorNo: a.value.anchorNo, toSeq: a.value.toSeq });
    }
  }
  await audit().appendMany([event(100), event(101), event(102)]);
  // Those three stay unmirrored for the whole file: the mirror alarm their append set (MIRROR_DELAY_MS later) would
  // otherwise fire mid-test on a slow machine and copy entry 32 to R2 while a test has it tampered.
  await runInDurableObject(sequencer(), (_instance, state) => state.storage.deleteAlarm());
  expect(anchors.map((a) => a.toSeq)).toEqual([10, 20, 30]);
});

describe("a full verification in steps (bounded R2 reads per call)", () => {
  it("goes anchor to anchor, then to the head; only the last step is complete and sets integrity", async () => {
    const before = await audit().status();
    const s1 = await step(3);
    // 3 copies reach seq 15; the furthest anchor within is 10.
    expect(s1).toMatchObject({
      ok: true,
      complete: false,
      fromSeq: 1,
      toSeq: 10,
      checkedEntries: 10,
      checkedAnchors: 1,
    });
    const mid = await audit().status();
    expect(mid.ok && mid.value.integrity).toBe(before.ok && before.value.integrity);
    expect(mid.ok && mid.value.lastVerification).toMatchObject({ complete: false, toSeq: 10 });
    const s2 = await step(3);
    expect(s2).toMatchObject({ ok: true, complete: false, fromSeq: 11, toSeq: 20, checkedAnchors: 1 });
    // Two copies left, within the budget: to the head, unmirrored entries included.
    const s3 = await step(3);
    expect(s3).toMatchObject({
      ok: true,
      complete: true,
      fromSeq: 21,
      toSeq: 33,
      checkedEntries: 13,
      checkedAnchors: 1,
    });
    expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "ok" } });
    // The job is done: the next full run starts at genesis again.
    expect(await step(3)).toMatchObject({ fromSeq: 1, complete: false });
  });

  it("stops at the next anchor even when it lies beyond the budget", async () => {
    const s = await step(1, Date.now() + FULL_JOB_IDLE_MS + 1);
    expect(s).toMatchObject({ ok: true, complete: false, fromSeq: 1, toSeq: 10 });
  });

  it("starts again from genesis when the job had no step for the idle time", async () => {
    const now = Date.now() + 2 * (FULL_JOB_IDLE_MS + 1);
    expect(await step(3, now)).toMatchObject({ fromSeq: 1, toSeq: 10 });
    expect(await step(3, now + 1000)).toMatchObject({ fromSeq: 11, toSeq: 20 });
    expect(await step(3, now + 1000 + FULL_JOB_IDLE_MS + 1)).toMatchObject({ fromSeq: 1, toSeq: 10 });
  });

  it("a break found by a step is final for the job: broken integrity, the next run from genesis", async () => {
    const now = Date.now() + 10 * (FULL_JOB_IDLE_MS + 1);
    expect(await step(3, now)).toMatchObject({ ok: true, toSeq: 10 });
    const body = await sql(
      (s) => s.exec<{ body: string }>("SELECT body FROM entries WHERE seq = 14").one().body,
    );
    await sql((s) => s.exec("UPDATE entries SET body = ? WHERE seq = 14", body.replace('"risk"', '"audit"')));
    try {
      expect(await step(3, now + 1)).toMatchObject({ ok: false, brokenSeq: 14, fromSeq: 11 });
      expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "broken" } });
      expect(await step(3, now + 2)).toMatchObject({ ok: true, fromSeq: 1, toSeq: 10 });
    } finally {
      await sql((s) => s.exec("UPDATE entries SET body = ? WHERE seq = 14", body));
    }
    // Only a run that completes clears it: the steps on the way leave it broken.
    expect(await step(3, now + 3)).toMatchObject({ ok: true, complete: false, toSeq: 20 });
    expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "broken" } });
    expect(await step(3, now + 4)).toMatchObject({ ok: true, complete: true, toSeq: 33 });
    expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "ok" } });
  });

  it("a break another run finds while a job is on its way voids the job: the next step starts at genesis", async () => {
    const now = Date.now() + 20 * (FULL_JOB_IDLE_MS + 1);
    expect(await step(3, now)).toMatchObject({ ok: true, fromSeq: 1, toSeq: 10 });
    // The watch's incremental run (from the last verified anchor) finds a break while the job waits.
    const body = await sql(
      (s) => s.exec<{ body: string }>("SELECT body FROM entries WHERE seq = 32").one().body,
    );
    await sql((s) => s.exec("UPDATE entries SET body = ? WHERE seq = 32", body.replace('"risk"', '"audit"')));
    try {
      const watch = await runInDurableObject(sequencer(), (instance) =>
        (instance as AuditSequencer).verify("incremental", now + 1),
      );
      expect(watch).toMatchObject({ ok: true, value: { ok: false, brokenSeq: 32 } });
      // The job's progress is void: not 11..20 but genesis again, and the break stays until a complete run.
      expect(await step(3, now + 2)).toMatchObject({ ok: true, fromSeq: 1, toSeq: 10, complete: false });
      expect(await step(3, now + 3)).toMatchObject({ ok: true, fromSeq: 11, toSeq: 20 });
      expect(await step(3, now + 4)).toMatchObject({ ok: false, brokenSeq: 32, complete: true });
    } finally {
      await sql((s) => s.exec("UPDATE entries SET body = ? WHERE seq = 32", body));
    }
    for (let t = 5; ; t++) {
      const r = await step(3, now + t);
      expect(r.ok).toBe(true);
      if (r.complete) break;
    }
    expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "ok" } });
  });

  it("over RPC a chain within the budget is verified in one call, complete", async () => {
    const r = await audit().verify({ mode: "full", actor });
    expect(r).toMatchObject({ ok: true, value: { ok: true, complete: true, fromSeq: 1, toSeq: 33 } });
  });
});
