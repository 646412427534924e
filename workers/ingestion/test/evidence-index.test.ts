// The evidence index audit (src/evidence-index.ts): bytes kept in R2 whose D1 record was lost (an isolate that ended
// between a page's put and its read batch) are found and recorded from their own metadata once they re-hash to their
// name; what cannot be vouched for is audited and never recorded; nothing is skipped when a step fails.
import { sha256Hex } from "@paulp/kit";
import { beforeEach, describe, expect, it } from "vitest";
import type { RawResponse } from "../src/client";
import { evidenceRecordStatements, putEvidence, readEvidence, storeEvidence } from "../src/evidence";
import {
  auditEvidenceIndex,
  INDEX_AUDIT_GRACE_MS,
  INDEX_AUDIT_LEASE_MS,
  INDEX_AUDIT_MAX_RECORDS,
  INDEX_AUDIT_RENEW_MS,
  type IndexAuditDeps,
  indexAuditAnswer,
  indexStepLogLine,
} from "../src/evidence-index";
import { ACTOR, auditEvents, count, resetAll, tenv, worker } from "./helpers";

beforeEach(resetAll);

const answer = (text: string, status = 200): RawResponse => ({
  url: `https://api.elections.kalshi.com/trade-api/v2/markets?limit=2&cursor=${encodeURIComponent(text)}`,
  status,
  contentType: "application/json",
  bytes: new TextEncoder().encode(text),
  retryAfter: null,
});
const FETCHED_AT = "2026-12-03T10:00:00.000Z";

/** The put half of a fetch's evidence, without its record: what an isolate that ended in between leaves. */
const orphan = (text: string, status = 200) =>
  putEvidence(tenv.R2_EVIDENCE, "kalshi", answer(text, status), FETCHED_AT);
/** Evidence put and recorded, as every completed fetch leaves it. */
const recorded = (text: string) =>
  storeEvidence({ bucket: tenv.R2_EVIDENCE, db: tenv.D1_MARKETS }, "kalshi", answer(text), FETCHED_AT);

/** The audit's deps over the real bindings, its clock `aheadMs` past the wall clock (read when a step runs). */
const deps = (aheadMs = INDEX_AUDIT_GRACE_MS + 60_000): IndexAuditDeps => ({
  db: tenv.D1_MARKETS,
  bucket: tenv.R2_EVIDENCE,
  audit: tenv.AUDIT,
  now: () => Date.now() + aheadMs,
  actor: ACTOR,
});

/** A step that ran (not refused because another held the walk, nor stopped because another took it). */
async function stepOf(d: IndexAuditDeps, pageSize?: number) {
  const step = await auditEvidenceIndex(d, pageSize);
  if ("underWayUntil" in step) throw new Error(`the walk was held until ${step.underWayUntil}`);
  if ("lostWalk" in step) throw new Error("the step lost the walk midway");
  return step;
}

/** An event the test fires itself: `fired` settles once `fire()` is called. */
function signal(): { fired: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { fired, fire };
}

/** The real bucket, its list held until the test releases it (a step caught mid-way); `listing` fires on the call. */
function heldBucket(): { bucket: R2Bucket; listing: ReturnType<typeof signal>; release: () => void } {
  const listing = signal();
  const gate = signal();
  const real = tenv.R2_EVIDENCE;
  const bucket = {
    list: async (options?: R2ListOptions) => {
      listing.fire();
      await gate.fired;
      return real.list(options);
    },
    head: (key: string) => real.head(key),
    get: (key: string) => real.get(key),
  } as unknown as R2Bucket;
  return { bucket, listing, release: gate.fire };
}

/**
 * The real bucket, whose first head outlasts the lease: the step's clock (`clock.now`) moves past it, and meanwhile
 * another step takes the walk, held at its list until `release`. `heads` names the objects the step asked for.
 */
function bucketLosingTheWalk(clock: { now: number }) {
  const real = tenv.R2_EVIDENCE;
  const other = heldBucket();
  const heads: string[] = [];
  let otherStep: ReturnType<typeof auditEvidenceIndex> | undefined;
  const bucket = {
    list: (options?: R2ListOptions) => real.list(options),
    head: async (key: string) => {
      heads.push(key);
      if (heads.length === 1) {
        clock.now += INDEX_AUDIT_LEASE_MS + 1_000;
        otherStep = auditEvidenceIndex({ ...deps(), now: () => clock.now, bucket: other.bucket });
        await other.listing.fired;
      }
      return real.head(key);
    },
    get: (key: string) => real.get(key),
  } as unknown as R2Bucket;
  return { bucket, heads, release: other.release, otherStep: () => otherStep };
}

/** The real database, each statement it is asked to prepare named in `statements` (a batch's too). */
function watchedDb(): { db: D1Database; statements: string[] } {
  const statements: string[] = [];
  const db = tenv.D1_MARKETS;
  const watched = {
    prepare: (sql: string) => {
      statements.push(sql);
      return db.prepare(sql);
    },
    batch: (s: D1PreparedStatement[]) => db.batch(s),
  } as unknown as D1Database;
  return { db: watched, statements };
}

const leaseRow = () =>
  tenv.D1_MARKETS.prepare(
    "SELECT step_lease, step_lease_until FROM evidence_index_audit WHERE id = 1",
  ).first<{
    step_lease: string | null;
    step_lease_until: number | null;
  }>();

const evidenceRow = (hash: string) =>
  tenv.D1_MARKETS.prepare("SELECT * FROM evidence WHERE hash = ?1")
    .bind(hash)
    .first<Record<string, unknown>>();

describe("the evidence index audit", () => {
  it("records an object kept without its record, from its own metadata, audited first; a recorded one is left as it is", async () => {
    const lost = await orphan('{"markets":[],"cursor":"lost"}');
    const kept = await recorded('{"markets":[],"cursor":"kept"}');
    const keptBefore = await evidenceRow(kept);
    expect(await readEvidence({ bucket: tenv.R2_EVIDENCE, db: tenv.D1_MARKETS }, lost)).toMatchObject({
      ok: false,
      message: expect.stringContaining("has bytes but no record"),
    });

    const step = await stepOf(deps());
    expect(step).toEqual({
      checked: 2,
      recorded: 1,
      young: 0,
      deferred: 0,
      unvouched: [],
      passCompleted: true,
    });
    const raw = answer('{"markets":[],"cursor":"lost"}');
    expect(await evidenceRow(lost)).toEqual({
      hash: lost,
      venue: "kalshi",
      url: raw.url,
      status: 200,
      size: raw.bytes.byteLength,
      content_type: "application/json",
      fetched_at: FETCHED_AT,
      last_seen_at: FETCHED_AT,
      // Kept, never parsed: what a page fetched ahead and not taken is recorded as.
      parse_status: "pending",
      reject_reason: null,
    });
    expect(await count("evidence_sightings", "hash = ?1", lost)).toBe(1);
    // Not in the fetch log: the live pipeline never took it up, and a replay of its window must read what it read.
    expect(await count("evidence_fetches", "hash = ?1", lost)).toBe(0);
    expect(await evidenceRow(kept)).toEqual(keptBefore);
    expect(await count("evidence_fetches", "hash = ?1", kept)).toBe(1);
    const events = (await auditEvents()).filter((e) => e.type.startsWith("ingestion.evidence_"));
    expect(events).toEqual([
      expect.objectContaining({
        type: "ingestion.evidence_recovered",
        actor: ACTOR,
        payload: {
          hash: lost,
          venue: "kalshi",
          url: raw.url,
          status: 200,
          size: raw.bytes.byteLength,
          fetchedAt: FETCHED_AT,
        },
      }),
    ]);
    const read = await readEvidence({ bucket: tenv.R2_EVIDENCE, db: tenv.D1_MARKETS }, lost);
    expect(read.ok).toBe(true);

    // The next pass finds nothing more to do.
    expect(await stepOf(deps())).toMatchObject({ checked: 2, recorded: 0, passCompleted: true });
    expect((await auditEvents()).filter((e) => e.type.startsWith("ingestion.evidence_"))).toHaveLength(1);
  });

  it("records a non-2xx answer kept without its record as rejected, as a fetch would have", async () => {
    const lost = await orphan('{"error":"too many requests"}', 429);
    expect(await stepOf(deps())).toMatchObject({ recorded: 1 });
    expect(await evidenceRow(lost)).toMatchObject({
      status: 429,
      parse_status: "rejected",
      reject_reason: "http_429",
    });
  });

  it("leaves an object younger than the grace alone (its record may be on its way), and takes it on a later pass", async () => {
    const lost = await orphan('{"young":1}');
    const young = await stepOf(deps(0));
    expect(young).toEqual({
      checked: 1,
      recorded: 0,
      young: 1,
      deferred: 0,
      unvouched: [],
      passCompleted: true,
    });
    expect(await evidenceRow(lost)).toBeNull();
    // The record arrives meanwhile (the run's batch): nothing to recover, nothing audited.
    await tenv.D1_MARKETS.batch(
      evidenceRecordStatements(tenv.D1_MARKETS, "kalshi", answer('{"young":1}'), lost, FETCHED_AT),
    );
    expect(await stepOf(deps())).toMatchObject({ recorded: 0, young: 0 });
    expect((await auditEvents()).filter((e) => e.type.startsWith("ingestion.evidence_"))).toEqual([]);
  });

  it("never records bytes that do not hash to their name, a foreign name, or an object without evidence metadata: each is audited", async () => {
    const real = await sha256Hex('{"a":1}');
    await tenv.R2_EVIDENCE.put(real, '{"a":2}', {
      customMetadata: { venue: "kalshi", url: "https://x/", status: "200", fetchedAt: FETCHED_AT },
    });
    await tenv.R2_EVIDENCE.put("notes/readme.txt", "hello");
    const bare = await sha256Hex("bare");
    await tenv.R2_EVIDENCE.put(bare, "bare");
    const step = await stepOf(deps());
    expect(step.recorded).toBe(0);
    expect(step.deferred).toBe(0);
    expect([...step.unvouched].sort()).toEqual([bare, real, "notes/readme.txt"].sort());
    expect(await count("evidence")).toBe(0);
    const unvouched = (await auditEvents()).filter((e) => e.type === "ingestion.evidence_unvouched");
    expect(Object.fromEntries(unvouched.map((e) => [e.payload.key, e.payload.detail]))).toEqual({
      [real]: `its bytes hash to ${await sha256Hex('{"a":2}')}`,
      "notes/readme.txt": "its name is not a SHA-256 content hash",
      [bare]: "it lacks the metadata every evidence put writes (venue, url, status, fetchedAt)",
    });
    expect(await worker().status()).toMatchObject({
      ok: true,
      value: {
        evidenceIndex: { unvouchedTotal: 3, unvouchedLastWalk: 3, unvouchedThisWalk: 0, passesCompleted: 1 },
      },
    });
    // Removed from the bucket (once kept aside, docs/runbook.md): the next whole walk meets none.
    await tenv.R2_EVIDENCE.delete([real, bare, "notes/readme.txt"]);
    await stepOf(deps());
    expect(await worker().status()).toMatchObject({
      ok: true,
      value: {
        evidenceIndex: { unvouchedTotal: 3, unvouchedLastWalk: 0, unvouchedThisWalk: 0, passesCompleted: 2 },
      },
    });
  });

  it("walks the bucket a page at a time from where it stopped, and starts again after the last page", async () => {
    const hashes = [];
    for (let i = 0; i < 5; i++) hashes.push(await orphan(`{"page":${i}}`));
    const steps = [];
    for (let i = 0; i < 3; i++) steps.push(await stepOf(deps(), 2));
    expect(steps.map((s) => [s.checked, s.recorded, s.passCompleted])).toEqual([
      [2, 2, false],
      [2, 2, false],
      [1, 1, true],
    ]);
    expect(await count("evidence")).toBe(5);
    expect(await stepOf(deps(), 2)).toMatchObject({
      checked: 2,
      recorded: 0,
      passCompleted: false,
    });
    // An object that cannot be vouched for, met in the second walk ("z…" lists after every hex name): counted for
    // that walk, and for the last walk once it ends.
    await tenv.R2_EVIDENCE.put("z-not-evidence", "x");
    await stepOf(deps(), 2);
    const midWalk = await worker().status();
    expect(midWalk.ok && midWalk.value.evidenceIndex).toMatchObject({
      unvouchedThisWalk: 0,
      passesCompleted: 1,
    });
    await stepOf(deps(), 2);
    await tenv.R2_EVIDENCE.delete("z-not-evidence");
    await stepOf(deps(), 2);
    const status = await worker().status();
    expect(status.ok && status.value.evidenceIndex).toMatchObject({
      passesCompleted: 2,
      midPass: true,
      recordedTotal: 5,
      unvouchedThisWalk: 0,
      unvouchedLastWalk: 1,
      lastStep: { checked: 2, recorded: 0 },
    });
  });

  it("loses nothing when the audit chain refuses: the object stays unrecorded and its page is taken again", async () => {
    const first = await orphan('{"first":1}');
    const second = await orphan('{"second":1}');
    const third = await orphan('{"third":1}');
    await tenv.AUDIT._set({ failing: true });
    // The whole bucket in one page, not settled: the walk has not ended, and nothing is counted for it.
    expect(await stepOf(deps(), 10)).toMatchObject({
      checked: 3,
      deferred: 3,
      passCompleted: false,
    });
    const stalled = await worker().status();
    expect(stalled.ok && stalled.value.evidenceIndex).toMatchObject({ passesCompleted: 0, recordedTotal: 0 });
    const refused = await stepOf(deps(), 2);
    expect(refused).toMatchObject({ recorded: 0, deferred: 2, passCompleted: false });
    expect(await count("evidence")).toBe(0);
    await tenv.AUDIT._set({ failing: false });
    // The same page again (the cursor did not move), then the rest.
    expect(await stepOf(deps(), 2)).toMatchObject({
      checked: 2,
      recorded: 2,
      passCompleted: false,
    });
    expect(await stepOf(deps(), 2)).toMatchObject({
      checked: 1,
      recorded: 1,
      passCompleted: true,
    });
    for (const hash of [first, second, third]) expect(await evidenceRow(hash)).not.toBeNull();
  });

  it("takes one step at a time: a second while the first holds the walk does nothing and says until when", async () => {
    const lost = await orphan('{"one at a time":1}');
    const held = heldBucket();
    // One clock for both steps: the second is told the first's lease, to the millisecond.
    const at = deps().now();
    const first = stepOf({ ...deps(), now: () => at, bucket: held.bucket });
    await held.listing.fired;
    expect(await auditEvidenceIndex({ ...deps(), now: () => at + 1 })).toEqual({
      underWayUntil: new Date(at + INDEX_AUDIT_LEASE_MS).toISOString(),
    });
    held.release();
    expect(await first).toMatchObject({ checked: 1, recorded: 1 });
    // Audited and counted once; the walk is free again for the next step.
    const recovered = (await auditEvents()).filter((e) => e.type === "ingestion.evidence_recovered");
    expect(recovered.map((e) => (e.payload as { hash: string }).hash)).toEqual([lost]);
    const status = await worker().status();
    expect(status.ok && status.value.evidenceIndex).toMatchObject({ passesCompleted: 1, recordedTotal: 1 });
    expect(await leaseRow()).toEqual({ step_lease: null, step_lease_until: null });
    expect(await stepOf(deps())).toMatchObject({ checked: 1, recorded: 0 });
  });

  it("frees the walk when a step fails, and once the lease of a step whose isolate ended has passed", async () => {
    const failing = {
      list: async () => {
        throw new Error("R2 list failed");
      },
    } as unknown as R2Bucket;
    await expect(auditEvidenceIndex({ ...deps(), bucket: failing })).rejects.toThrow("R2 list failed");
    expect(await leaseRow()).toEqual({ step_lease: null, step_lease_until: null });
    // A step that ended with its isolate left its lease: held until it passes, then taken.
    const leftAt = deps().now();
    await tenv.D1_MARKETS.prepare(
      "UPDATE evidence_index_audit SET step_lease = 'ended', step_lease_until = ?1 WHERE id = 1",
    )
      .bind(leftAt + INDEX_AUDIT_LEASE_MS)
      .run();
    expect(await auditEvidenceIndex(deps())).toEqual({
      underWayUntil: new Date(leftAt + INDEX_AUDIT_LEASE_MS).toISOString(),
    });
    expect(await stepOf(deps(INDEX_AUDIT_GRACE_MS + 60_000 + INDEX_AUDIT_LEASE_MS + 1_000))).toMatchObject({
      passCompleted: true,
    });
  });

  it("writes nothing of a step that outlived its lease (another took the walk meanwhile), and answers that it lost it", async () => {
    await orphan('{"outlived":1}');
    const held = heldBucket();
    const slow = auditEvidenceIndex({ ...deps(), bucket: held.bucket });
    await held.listing.fired;
    // Its lease passes while it is held; another step takes the walk and completes it.
    const later = INDEX_AUDIT_GRACE_MS + 60_000 + INDEX_AUDIT_LEASE_MS + 1_000;
    expect(await stepOf(deps(later))).toMatchObject({ recorded: 1, passCompleted: true });
    held.release();
    // Its list came after the other's record: nothing of its own to tell, and not a step that ran.
    expect(await slow).toEqual({ lostWalk: { at: "write", recorded: 0, unvouched: 0 } });
    // One walk and one recovery counted: the slow step's counts were not written over the other's.
    const status = await worker().status();
    expect(status.ok && status.value.evidenceIndex).toMatchObject({ passesCompleted: 1, recordedTotal: 1 });
  });

  it("answers a step that outlived its lease after its last object as one that lost the walk, not with counts it did not write", async () => {
    const last = await orphan('{"outlived after its last":1}');
    // Its only object outlasts the lease: another step takes the walk meanwhile.
    const clock = { now: deps().now() };
    const losing = bucketLosingTheWalk(clock);
    // No object after it, so no renewal finds the walk gone: its write does, and it answers that it lost the walk.
    const slow = await auditEvidenceIndex({ ...deps(), now: () => clock.now, bucket: losing.bucket });
    expect(slow).toEqual({ lostWalk: { at: "write", recorded: 1, unvouched: 0 } });
    expect(indexAuditAnswer(slow)).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect(indexStepLogLine(slow)).toContain(
      "lost the walk to another step (its lease passed; found at its write)",
    );
    expect(await evidenceRow(last)).not.toBeNull();
    // Nothing of it written but its recovery's count (the other step finds the object recorded, so only this one can
    // count it): no step, no cursor; the walk still the other step's, which then finds nothing missing.
    const lost = await worker().status();
    expect(lost.ok && lost.value.evidenceIndex).toMatchObject({ recordedTotal: 1, lastStepAt: null });
    expect(await leaseRow()).toMatchObject({ step_lease_until: clock.now + INDEX_AUDIT_LEASE_MS });
    losing.release();
    expect(await losing.otherStep()).toMatchObject({ checked: 1, recorded: 0, passCompleted: true });
    expect(await leaseRow()).toEqual({ step_lease: null, step_lease_until: null });
    // The one recovery counted once, by the step that made it.
    const after = await worker().status();
    expect(after.ok && after.value.evidenceIndex).toMatchObject({ recordedTotal: 1, passesCompleted: 1 });
  });

  it("records at most INDEX_AUDIT_MAX_RECORDS objects a step (D1's queries an invocation), leaving the rest of the page as deferred", async () => {
    // A first page of one object (a foreign name lists before every hex one), so the big page is mid-walk.
    await tenv.R2_EVIDENCE.put("0-first", "x");
    const hashes = [];
    for (let i = 0; i < INDEX_AUDIT_MAX_RECORDS + 3; i++) hashes.push(await orphan(`{"incident":${i}}`));
    expect(await stepOf(deps(), 1)).toMatchObject({ checked: 1, unvouched: ["0-first"] });
    const cursorRow = () =>
      tenv.D1_MARKETS.prepare("SELECT cursor FROM evidence_index_audit WHERE id = 1").first<{
        cursor: string | null;
      }>();
    const cursor = (await cursorRow())?.cursor;
    expect(cursor).toEqual(expect.any(String));
    // Every statement the step prepares counted, on one clock (no renewal).
    const { db, statements } = watchedDb();
    const at = deps().now();
    const first = await stepOf({ ...deps(), db, now: () => at });
    expect(first).toMatchObject({
      checked: INDEX_AUDIT_MAX_RECORDS + 3,
      recorded: INDEX_AUDIT_MAX_RECORDS,
      deferred: 3,
      passCompleted: false,
    });
    // Two statements a record and three of its own (the claim, the records asked for, the write): far under 1,000.
    expect(statements).toHaveLength(2 * INDEX_AUDIT_MAX_RECORDS + 3);
    expect(await count("evidence")).toBe(INDEX_AUDIT_MAX_RECORDS);
    // The cursor kept, as for a deferred object: the next step takes the same page, records the rest and moves on.
    expect((await cursorRow())?.cursor).toBe(cursor);
    expect(await stepOf(deps())).toMatchObject({
      checked: INDEX_AUDIT_MAX_RECORDS + 3,
      recorded: 3,
      deferred: 0,
      passCompleted: true,
    });
    expect((await cursorRow())?.cursor).toBeNull();
    for (const hash of hashes) expect(await evidenceRow(hash)).not.toBeNull();
    const recovered = (await auditEvents()).filter((e) => e.type === "ingestion.evidence_recovered");
    expect(recovered).toHaveLength(INDEX_AUDIT_MAX_RECORDS + 3);
    const status = await worker().status();
    expect(status.ok && status.value.evidenceIndex).toMatchObject({
      passesCompleted: 1,
      recordedTotal: INDEX_AUDIT_MAX_RECORDS + 3,
    });
  });

  it("renews its lease as it goes: a step whose clock passes its first lease's end still holds the walk", async () => {
    for (let i = 0; i < 3; i++) await orphan(`{"long step":${i}}`);
    // The step's clock moves on only as it settles objects: two minutes each (a head, a read, an audit, a record).
    const start = deps().now();
    let now = start;
    const real = tenv.R2_EVIDENCE;
    let heads = 0;
    let second: Awaited<ReturnType<typeof auditEvidenceIndex>> | undefined;
    let leaseThen: Awaited<ReturnType<typeof leaseRow>> | undefined;
    const slowBucket = {
      list: (options?: R2ListOptions) => real.list(options),
      head: async (key: string) => {
        now += 2 * INDEX_AUDIT_RENEW_MS;
        if (++heads === 3) {
          // Six minutes in, past the claim's lease (five): another step asks for the walk and is refused.
          leaseThen = await leaseRow();
          second = await auditEvidenceIndex({ ...deps(), now: () => now });
        }
        return real.head(key);
      },
      get: (key: string) => real.get(key),
    } as unknown as R2Bucket;
    expect(await stepOf({ ...deps(), now: () => now, bucket: slowBucket })).toMatchObject({
      checked: 3,
      recorded: 3,
      passCompleted: true,
    });
    expect(now - start).toBeGreaterThan(INDEX_AUDIT_LEASE_MS);
    // Renewed before the second object (two minutes in) and the third (four): held until four plus five minutes.
    const renewedUntil = start + 4 * INDEX_AUDIT_RENEW_MS + INDEX_AUDIT_LEASE_MS;
    expect(leaseThen).toEqual({ step_lease: expect.any(String), step_lease_until: renewedUntil });
    expect(second).toEqual({ underWayUntil: new Date(renewedUntil).toISOString() });
    // Its counts written, the walk freed; each recovery audited once.
    const status = await worker().status();
    expect(status.ok && status.value.evidenceIndex).toMatchObject({ passesCompleted: 1, recordedTotal: 3 });
    expect(await leaseRow()).toEqual({ step_lease: null, step_lease_until: null });
    expect((await auditEvents()).filter((e) => e.type === "ingestion.evidence_recovered")).toHaveLength(3);
  });

  it("does not renew a step that takes less than the renewal interval (no statement spent)", async () => {
    await orphan('{"quick":1}');
    await orphan('{"quick":2}');
    const at = deps().now();
    const { db, statements } = watchedDb();
    expect(await stepOf({ ...deps(), db, now: () => at })).toMatchObject({ recorded: 2 });
    expect(statements.filter((sql) => sql.includes("SET step_lease_until"))).toEqual([]);
  });

  it("counts a recovery once when the step that took the walk records the same object first", async () => {
    const hash = await orphan('{"settled by both":1}');
    const clock = { now: deps().now() };
    const real = tenv.R2_EVIDENCE;
    let heads = 0;
    // The slow step's head of the object outlasts its lease; meanwhile another step takes the walk, lists the same
    // page (the object still unrecorded) and records it, all before the slow step records it in turn.
    const slowBucket = {
      list: (options?: R2ListOptions) => real.list(options),
      head: async (key: string) => {
        if (++heads === 1) {
          clock.now += INDEX_AUDIT_LEASE_MS + 1_000;
          expect(await stepOf({ ...deps(), now: () => clock.now })).toMatchObject({ recorded: 1 });
        }
        return real.head(key);
      },
      get: (key: string) => real.get(key),
    } as unknown as R2Bucket;
    const slow = await auditEvidenceIndex({ ...deps(), now: () => clock.now, bucket: slowBucket });
    // Its record found the other's: not its recovery, so not counted by it.
    expect(slow).toEqual({ lostWalk: { at: "write", recorded: 0, unvouched: 0 } });
    const status = await worker().status();
    expect(status.ok && status.value.evidenceIndex).toMatchObject({ recordedTotal: 1, passesCompleted: 1 });
    expect(await evidenceRow(hash)).not.toBeNull();
  });

  it("stops at once when it finds the walk taken midway: settles no further object and writes no counts", async () => {
    const hashes = [];
    for (let i = 0; i < 3; i++) hashes.push(await orphan(`{"lost walk":${i}}`));
    // Its first object takes longer than the lease: another step takes the walk meanwhile.
    const clock = { now: deps().now() };
    const losing = bucketLosingTheWalk(clock);
    // The object it was settling is recorded (and audited); it settles no other, and answers that it lost the walk.
    expect(await auditEvidenceIndex({ ...deps(), now: () => clock.now, bucket: losing.bucket })).toEqual({
      lostWalk: { at: "midway", recorded: 1, unvouched: 0 },
    });
    expect(losing.heads).toHaveLength(1);
    expect(await count("evidence")).toBe(1);
    // Nothing written but its recovery's count: no step, no cursor, and the walk left to the step that took it.
    const stopped = await worker().status();
    expect(stopped.ok && stopped.value.evidenceIndex).toMatchObject({
      passesCompleted: 0,
      recordedTotal: 1,
      lastStepAt: null,
    });
    expect(await leaseRow()).toEqual({
      step_lease: expect.any(String),
      step_lease_until: clock.now + INDEX_AUDIT_LEASE_MS,
    });
    // The other step takes the page: the rest recorded, each recovery audited once.
    losing.release();
    expect(await losing.otherStep()).toMatchObject({ checked: 3, recorded: 2, passCompleted: true });
    for (const hash of hashes) expect(await evidenceRow(hash)).not.toBeNull();
    const recovered = (await auditEvents()).filter((e) => e.type === "ingestion.evidence_recovered");
    expect(recovered.map((e) => (e.payload as { hash: string }).hash).sort()).toEqual([...hashes].sort());
    expect(await leaseRow()).toEqual({ step_lease: null, step_lease_until: null });
    // Three recoveries, each counted once: one by the step that lost the walk, two by the one that took it.
    const done = await worker().status();
    expect(done.ok && done.value.evidenceIndex).toMatchObject({ recordedTotal: 3, passesCompleted: 1 });
  });

  it("answers a step that lost the walk as a conflict that says what it did before it stopped", () => {
    const lost = { lostWalk: { at: "midway" as const, recorded: 2, unvouched: 1 } };
    expect(indexAuditAnswer(lost)).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: "conflict",
        message: expect.stringContaining(
          "another step took the walk: it wrote no cursor nor step (it found so midway, and stopped there)",
        ),
      }),
    });
    expect(indexAuditAnswer(lost)).toMatchObject({
      error: { message: expect.stringContaining("recorded=2, counted in the recovered total; unvouched=1") },
    });
    expect(indexStepLogLine(lost)).toBe(
      "evidence index audit: lost the walk to another step (its lease passed; found midway), wrote no cursor nor step (before it: recorded=2, counted in the recovered total; unvouched=1, found again by the other step)",
    );
  });

  it("runs through the worker's entrypoint as its caller (a just-written object is young there), and refuses a malformed actor", async () => {
    await orphan('{"now":1}');
    const step = await worker().auditEvidenceIndex(ACTOR);
    expect(step).toEqual({
      ok: true,
      value: { checked: 1, recorded: 0, young: 1, deferred: 0, unvouched: [], passCompleted: true },
    });
    const bad = await worker().auditEvidenceIndex({ method: "nobody" } as never);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error.code).toBe("validation_failed");
    // While another step holds the walk: refused as a conflict that says until when, nothing taken.
    await tenv.D1_MARKETS.prepare(
      "UPDATE evidence_index_audit SET step_lease = 'other', step_lease_until = ?1",
    )
      .bind(Date.now() + INDEX_AUDIT_LEASE_MS)
      .run();
    const busy = await worker().auditEvidenceIndex(ACTOR);
    expect(!busy.ok && busy.error).toMatchObject({
      code: "conflict",
      message: expect.stringContaining("a step of the evidence index audit is under way"),
    });
  });
});
