// The evidence index audit: every object in the evidence bucket has its D1 record. A fetch's record rides in a later
// D1 batch than its R2 put (page.ts: the page's read batch, one round trip fewer), so an isolate that dies between the
// two leaves bytes kept but unrecorded, invisible to the evidence listing, the export and replay. Each step walks one
// page of the bucket from where the last stopped (the cursor is kept in D1) and records what it finds unrecorded,
// from the object's own metadata and after re-hashing its bytes. Bytes that do not hash to their name, or an object
// without the metadata every evidence put writes, cannot be vouched for: reported (audited), never recorded.
import {
  ErrorCode,
  type EvidenceIndexAuditStatus,
  type EvidenceIndexStep,
  err,
  MAX_UNVOUCHED_LISTED,
  ok,
  type Result,
} from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import * as v from "valibot";
import type { RawResponse } from "./client";
import { audit, type PipelineDeps } from "./deps";
import { evidenceRecordStatements, missingEvidence } from "./evidence";

/** Objects one step lists (R2's own page limit). */
export const INDEX_AUDIT_PAGE = 1_000;
/**
 * Objects younger than this are left for a later pass: their record may still be on its way (a run between its put
 * and its batch). A page's batch follows its put within seconds; a run holds its lease for minutes at most.
 */
export const INDEX_AUDIT_GRACE_MS = 15 * 60_000;

/**
 * The largest object a step reads to re-hash: twice the largest answer the venue client keeps (8 MiB). Evidence is
 * never larger; a larger object is reported, not read (reading it could fail every step and stall the walk).
 */
export const INDEX_AUDIT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * How long a step holds the walk unless it renews it (`INDEX_AUDIT_RENEW_MS`): far longer than settling one object
 * takes, short enough that a step whose isolate ended frees it within a few cron runs.
 */
export const INDEX_AUDIT_LEASE_MS = 5 * 60_000;

/**
 * How long a step holds the walk before it renews its lease: renewed before the next unrecorded object it settles once
 * this has passed since the claim or the last renewal. Not before every object: that is a D1 statement more an
 * object, against D1's queries a Worker invocation (`INDEX_AUDIT_MAX_RECORDS`); this way a step of seconds (every one
 * seen) never renews, and a long one renews about once a minute whatever it meets. Four minutes of margin before the
 * lease passes, where settling one object (a head, a read of at most 16 MiB, a hash, an audit, a record) takes seconds.
 */
export const INDEX_AUDIT_RENEW_MS = 60_000;

/**
 * The most unrecorded objects one step records or tries to (a record, or an object deferred, that may have cost one).
 * The rest of its page is left as a deferred object is: counted in `deferred`, the cursor kept, the page taken again
 * by the next step, where those recorded are no longer missing, so the walk goes on. Why: D1 allows a Worker
 * invocation 1,000 queries on Workers Paid (50 on Free; developers.cloudflare.com/d1/platform/limits/), and a cron run
 * or an RPC call is one invocation; an incident's page of 1,000 unrecorded objects would pass it near its end, and
 * the step would throw, keeping its cursor, every time. The limits page does not say whether a batch counts once or
 * once a statement, so every statement is counted: at most three an object (its record's two, in one batch, and a
 * lease renewal, at most one a minute) and five of the step's own (the claim, the records asked for, the write, the
 * count of a step that lost the walk, the free after a failure): 305 at most, under a third of the limit, leaving
 * the rest to the pull the cron runs before the step in the same invocation. An incident's page of 1,000 is settled in ten steps (20 minutes of cron runs).
 * Objects young or unvouched are not counted: they cost no D1 statement (a head, a read, an audit append: Workers
 * subrequests, 10,000 an invocation on Paid, developers.cloudflare.com/workers/platform/limits/), and an unvouched
 * one stays unrecorded for good, so a page of more of them than the bound would be taken again forever.
 */
export const INDEX_AUDIT_MAX_RECORDS = 100;

/** What a step needs: the bindings, the audit, the clock and who acts (the cron, or the operator asking). */
export type IndexAuditDeps = Pick<PipelineDeps, "db" | "bucket" | "audit" | "now" | "actor">;

/** The metadata `putEvidence` writes on every object (evidence.ts); an object without it is not ours to vouch for. */
const EvidenceMetadata = v.object({
  venue: v.picklist(["kalshi", "polymarket", "ibkr"]),
  url: v.pipe(v.string(), v.minLength(1)),
  status: v.pipe(v.string(), v.regex(/^\d{3}$/)),
  fetchedAt: v.pipe(v.string(), v.isoTimestamp()),
});

const CONTENT_HASH = /^[0-9a-f]{64}$/;

interface AuditRow {
  cursor: string | null;
  passes_completed: number;
  recorded_total: number;
  unvouched_total: number;
  unvouched_this_walk: number;
  unvouched_last_walk: number;
  last_step_at: string | null;
  last_step: string | null;
}

async function loadRow(db: D1Database): Promise<AuditRow | null> {
  return db.prepare("SELECT * FROM evidence_index_audit WHERE id = 1").first<AuditRow>();
}

/** Where the audit stands, for `GET /admin/ingestion/status`. */
export async function evidenceIndexStatus(db: D1Database): Promise<EvidenceIndexAuditStatus> {
  const row = await loadRow(db);
  return {
    passesCompleted: row?.passes_completed ?? 0,
    midPass: row?.cursor != null,
    recordedTotal: row?.recorded_total ?? 0,
    unvouchedTotal: row?.unvouched_total ?? 0,
    unvouchedThisWalk: row?.unvouched_this_walk ?? 0,
    unvouchedLastWalk: row?.unvouched_last_walk ?? 0,
    lastStepAt: row?.last_step_at ?? null,
    lastStep: row?.last_step ? (JSON.parse(row.last_step) as EvidenceIndexStep) : null,
  };
}

/**
 * How one unrecorded object was settled. `recordedElsewhere`: its bytes vouched for and its recovery audited, but its
 * record was made meanwhile by another (a step that took the walk, or a fetch of the same bytes), which counts it.
 */
type Settled = "recorded" | "recordedElsewhere" | "young" | "unvouched" | "deferred" | "gone";

/** Another step holds the walk (until when, ISO): this one took nothing. */
export interface StepUnderWay {
  underWayUntil: string;
}

/**
 * This step found that another had taken the walk (its lease passed before it renewed it): midway, where it stopped,
 * or at its write, after its last object. Either way it wrote no cursor and no step. What it recorded and found
 * unvouched before stands (each audited) and is told here; what it recorded is also added to the recovered total,
 * because the step that took the walk finds those objects recorded and so cannot count them (the unvouched ones it
 * finds again, and counts).
 */
export interface StepLostWalk {
  lostWalk: { at: "midway" | "write"; recorded: number; unvouched: number };
}

/**
 * One step: the next page of the bucket, each object checked for its record. An object this step could not settle
 * (its read, its audit or its record failed), or left past `INDEX_AUDIT_MAX_RECORDS`, keeps the cursor where it was,
 * so the same page is taken again next time and nothing is skipped; otherwise the cursor moves on (back to the start
 * after the bucket's last page). One step at a time: while another holds the walk (its lease), this one answers
 * `StepUnderWay` and does nothing; a step renews its lease as it goes, and one that finds the walk taken from it
 * (midway, or at its write) answers `StepLostWalk`.
 */
export async function auditEvidenceIndex(
  deps: IndexAuditDeps,
  pageSize: number = INDEX_AUDIT_PAGE,
): Promise<EvidenceIndexStep | StepUnderWay | StepLostWalk> {
  const holder = crypto.randomUUID();
  const claimedAt = deps.now();
  const claimed = await claimWalk(deps, holder, claimedAt);
  if ("underWayUntil" in claimed) return claimed;
  try {
    return await takeStep(deps, { holder, since: claimedAt }, claimed, pageSize);
  } catch (error) {
    // Freed at once, so the next run need not wait out the lease; the error is the caller's to log.
    await deps.db
      .prepare(
        "UPDATE evidence_index_audit SET step_lease = NULL, step_lease_until = NULL WHERE id = 1 AND step_lease = ?1",
      )
      .bind(holder)
      .run()
      .catch(() => undefined);
    throw error;
  }
}

/** What `auditEvidenceIndex` answers its caller: the step, or a conflict when another step holds the walk or took it. */
export function indexAuditAnswer(
  step: EvidenceIndexStep | StepUnderWay | StepLostWalk,
): Result<EvidenceIndexStep> {
  if ("underWayUntil" in step)
    return err(
      ErrorCode.conflict,
      `a step of the evidence index audit is under way (it holds the walk until ${step.underWayUntil}, longer if it renews its lease); ask again after it`,
    );
  if ("lostWalk" in step)
    return err(
      ErrorCode.conflict,
      `this step of the evidence index audit ran past its lease and another step took the walk: it wrote no cursor nor step (it found so ${step.lostWalk.at === "midway" ? "midway, and stopped there" : "at its write, after its last object"}); what it audited before stands (recorded=${step.lostWalk.recorded}, counted in the recovered total; unvouched=${step.lostWalk.unvouched}); the other step takes its page`,
    );
  return ok(step);
}

/** Logs a step's one line: at error level when it lost the walk (a step outlived its lease), else as information. */
export function logIndexStep(step: EvidenceIndexStep | StepUnderWay | StepLostWalk): void {
  if ("lostWalk" in step) console.error(indexStepLogLine(step));
  else console.log(indexStepLogLine(step));
}

/** The line logged for a step taken (or not taken). */
export function indexStepLogLine(step: EvidenceIndexStep | StepUnderWay | StepLostWalk): string {
  if ("underWayUntil" in step)
    return `evidence index audit: skipped, another step holds the walk until ${step.underWayUntil}`;
  if ("lostWalk" in step)
    return `evidence index audit: lost the walk to another step (its lease passed; found ${step.lostWalk.at === "midway" ? "midway" : "at its write"}), wrote no cursor nor step (before it: recorded=${step.lostWalk.recorded}, counted in the recovered total; unvouched=${step.lostWalk.unvouched}, found again by the other step)`;
  return `evidence index audit: checked=${step.checked} recorded=${step.recorded} unvouched=${step.unvouched.length} deferred=${step.deferred}`;
}

/**
 * Takes the walk for `holder` unless another step holds it (the row is made on the first step); answers the row as
 * taken, so the step reads where the walk stands in the same round trip.
 */
async function claimWalk(
  deps: IndexAuditDeps,
  holder: string,
  now: number,
): Promise<AuditRow | StepUnderWay> {
  const taken = await deps.db
    .prepare(
      `INSERT INTO evidence_index_audit (id, step_lease, step_lease_until) VALUES (1, ?1, ?2)
       ON CONFLICT (id) DO UPDATE SET step_lease = ?1, step_lease_until = ?2
         WHERE step_lease_until IS NULL OR step_lease_until <= ?3
       RETURNING *`,
    )
    .bind(holder, now + INDEX_AUDIT_LEASE_MS, now)
    .first<AuditRow>();
  if (taken !== null) return taken;
  const held = await deps.db
    .prepare("SELECT step_lease_until FROM evidence_index_audit WHERE id = 1")
    .first<{ step_lease_until: number | null }>();
  return { underWayUntil: new Date(held?.step_lease_until ?? now).toISOString() };
}

/** This step's hold on the walk: who holds it, and since when it was last taken or renewed (ms). */
interface Hold {
  holder: string;
  since: number;
}

/**
 * Extends the lease before its end is near (`INDEX_AUDIT_RENEW_MS`), only while this step still holds the walk: the
 * statement changes no row once another step has taken it. False when the walk is lost.
 */
async function keepWalk(deps: IndexAuditDeps, hold: Hold): Promise<boolean> {
  const now = deps.now();
  if (now - hold.since < INDEX_AUDIT_RENEW_MS) return true;
  const renewed = await deps.db
    .prepare("UPDATE evidence_index_audit SET step_lease_until = ?1 WHERE id = 1 AND step_lease = ?2")
    .bind(now + INDEX_AUDIT_LEASE_MS, hold.holder)
    .run();
  hold.since = now;
  return renewed.meta.changes === 1;
}

async function takeStep(
  deps: IndexAuditDeps,
  hold: Hold,
  row: AuditRow,
  pageSize: number,
): Promise<EvidenceIndexStep | StepLostWalk> {
  // Names only: a list asked for metadata too answers fewer objects a call (R2: "fewer results may be returned");
  // the few unrecorded ones are asked for theirs one by one.
  const listed = await deps.bucket.list({ limit: pageSize, ...(row.cursor ? { cursor: row.cursor } : {}) });
  const named = listed.objects.filter((o) => CONTENT_HASH.test(o.key));
  const missing = new Set(
    await missingEvidence(
      deps.db,
      named.map((o) => o.key),
    ),
  );
  const step: EvidenceIndexStep = {
    checked: listed.objects.length,
    recorded: 0,
    young: 0,
    deferred: 0,
    unvouched: [],
    passCompleted: false,
  };
  let unvouched = 0;
  // Objects recorded or deferred so far: each may have cost D1 statements (INDEX_AUDIT_MAX_RECORDS).
  let recordsTried = 0;
  let left = 0;
  for (const object of listed.objects) {
    const unrecorded = !CONTENT_HASH.test(object.key) || missing.has(object.key);
    if (!unrecorded) continue;
    // Past the bound, left untouched for the next step as a deferred object is (the cursor stays).
    if (recordsTried >= INDEX_AUDIT_MAX_RECORDS) {
      left++;
      continue;
    }
    // The lease is kept between objects: a step that finds the walk taken settles nothing more (the step that took
    // it may be settling this same page) and writes no cursor and no step.
    if (!(await keepWalk(deps, hold))) return await lostWalk(deps, "midway", step.recorded, unvouched);
    const settled = await settle(deps, object);
    if (settled === "recorded" || settled === "recordedElsewhere" || settled === "deferred") recordsTried++;
    if (settled === "gone" || settled === "recordedElsewhere") continue;
    if (settled !== "unvouched") step[settled]++;
    else if (++unvouched <= MAX_UNVOUCHED_LISTED) step.unvouched.push(object.key.slice(0, 200));
  }
  if (left > 0) {
    step.deferred += left;
    console.log(
      `evidence index audit: ${left} unrecorded objects left for the next step, which takes the same page (a step records at most ${INDEX_AUDIT_MAX_RECORDS}: D1's queries an invocation)`,
    );
  }
  const advance = step.deferred === 0;
  const cursor = advance ? (listed.truncated ? listed.cursor : null) : row.cursor;
  // A page taken again (not advanced) counts its unvouched objects again next time: counted for the walk once, then.
  const thisWalk = row.unvouched_this_walk + (advance ? unvouched : 0);
  const walkEnds = advance && !listed.truncated;
  // A walk whose last page is taken again has not ended: the next step does not start from the beginning.
  step.passCompleted = walkEnds;
  // Written, and the walk freed, only while this step still holds it: one that outlived its lease (another step
  // may have taken the same page since) leaves the walk to that one and says so.
  const written = await deps.db
    .prepare(
      `UPDATE evidence_index_audit SET cursor = ?1, passes_completed = passes_completed + ?2,
         recorded_total = recorded_total + ?3, unvouched_total = unvouched_total + ?4,
         unvouched_this_walk = ?5, unvouched_last_walk = ?6, last_step_at = ?7, last_step = ?8,
         step_lease = NULL, step_lease_until = NULL
       WHERE id = 1 AND step_lease = ?9`,
    )
    .bind(
      cursor,
      walkEnds ? 1 : 0,
      step.recorded,
      unvouched,
      walkEnds ? 0 : thisWalk,
      walkEnds ? thisWalk : row.unvouched_last_walk,
      new Date(deps.now()).toISOString(),
      JSON.stringify(step),
      hold.holder,
    )
    .run();
  if (written.meta.changes === 0) return await lostWalk(deps, "write", step.recorded, unvouched);
  return step;
}

/** A step that lost the walk: its recoveries counted (no one else can count them; see StepLostWalk), nothing else. */
async function lostWalk(
  deps: IndexAuditDeps,
  at: StepLostWalk["lostWalk"]["at"],
  recorded: number,
  unvouched: number,
): Promise<StepLostWalk> {
  if (recorded > 0)
    await deps.db
      .prepare("UPDATE evidence_index_audit SET recorded_total = recorded_total + ?1 WHERE id = 1")
      .bind(recorded)
      .run();
  return { lostWalk: { at, recorded, unvouched } };
}

/**
 * One unrecorded object: reported at once when its name or metadata is not evidence's; left while young; else
 * re-hashed and recorded, or reported when its bytes hash to something else.
 */
async function settle(deps: IndexAuditDeps, listed: R2Object): Promise<Settled> {
  // The list names objects only: an unrecorded one is asked for its metadata (a foreign name needs none).
  const object = CONTENT_HASH.test(listed.key)
    ? await deps.bucket.head(listed.key).catch(() => undefined)
    : listed;
  if (object === undefined) return "deferred";
  // Deleted since the list: nothing left to record or report.
  if (object === null) return "gone";
  const unvouched = async (detail: string): Promise<Settled> => {
    console.error(`evidence index audit: object ${object.key.slice(0, 80)} cannot be vouched for: ${detail}`);
    const audited = await audit(deps, null, "ingestion.evidence_unvouched", {
      key: object.key.slice(0, 200),
      size: object.size,
      uploadedAt: object.uploaded.toISOString(),
      detail,
    });
    return audited ? "unvouched" : "deferred";
  };
  if (!CONTENT_HASH.test(object.key)) return unvouched("its name is not a SHA-256 content hash");
  const meta = v.safeParse(EvidenceMetadata, object.customMetadata ?? {});
  if (!meta.success)
    return unvouched("it lacks the metadata every evidence put writes (venue, url, status, fetchedAt)");
  // Named and described as evidence is: a young one's record may still be on its way (its bytes are checked then).
  if (object.uploaded.getTime() > deps.now() - INDEX_AUDIT_GRACE_MS) return "young";
  if (object.size > INDEX_AUDIT_MAX_BYTES)
    return unvouched(`it is ${object.size} bytes, larger than any venue answer ingestion keeps`);
  const body = await deps.bucket.get(object.key).catch(() => null);
  if (!body) return "deferred";
  const bytes = await body.arrayBuffer().then(
    (b) => new Uint8Array(b),
    () => null,
  );
  if (!bytes) return "deferred";
  const actual = await sha256Hex(bytes);
  if (actual !== object.key) return unvouched(`its bytes hash to ${actual}`);
  const { venue, url, status, fetchedAt } = meta.output;
  // Audited before it is recorded (no unaudited change); a failed audit leaves it for the next step.
  const audited = await audit(deps, null, "ingestion.evidence_recovered", {
    hash: object.key,
    venue,
    url,
    status: Number(status),
    size: bytes.byteLength,
    fetchedAt,
  });
  if (!audited) return "deferred";
  const raw: RawResponse = {
    url,
    status: Number(status),
    contentType: object.httpMetadata?.contentType ?? "application/octet-stream",
    bytes,
    retryAfter: null,
  };
  try {
    // The evidence row and its sighting, written only where none exists (evidenceRecordStatements, `recovered`).
    const [evidence] = await deps.db.batch(
      evidenceRecordStatements(deps.db, venue, raw, object.key, fetchedAt, "recovered"),
    );
    // Recorded meanwhile (another step that took the walk settled the same object, or the pipeline fetched the same
    // bytes): that one counts it, not this one.
    return evidence?.meta.changes === 1 ? "recorded" : "recordedElsewhere";
  } catch (error) {
    console.error(`evidence index audit: recording ${object.key} failed: ${(error as Error)?.message}`);
    return "deferred";
  }
}
