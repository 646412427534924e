import {
  ANCHOR_GENESIS_HASH,
  type ChainBreak,
  type ChainPoint,
  ChainVerifier,
  firstBreak,
  GENESIS_POINT,
  hashAnchor,
  LineBytes,
  verifyAnchors,
  verifyBatchCopy,
  verifyBatchList,
} from "@paulp/audit-chain";
import type { AuditAnchor, AuditMirrorBatch, AuditVerification, Result } from "@paulp/contracts";
import { ErrorCode, err, ok } from "@paulp/contracts";
import { toHex } from "@paulp/kit";
import type { AnchorKeys } from "./anchor-keys";
import { listAnchors } from "./anchors";
import type { ChainStore } from "./chain-store";
import { type LastFailure, recordVerification, STILL_BROKEN, type VerifiedAnchorMeta } from "./integrity";

/** R2 copies fetched ahead of the chain walk during verification. */
const R2_WINDOW = 4;
/** An R2 copy as verification reads it; an R2 failure is `unavailable`, not a missing copy. */
interface FetchedCopy {
  bytes: Uint8Array | null;
  sha256?: string;
  unavailable?: string;
}

/** A full verification walked in steps: the anchor its last step reached. */
interface FullJob extends VerifiedAnchorMeta {
  startedAt: number;
  lastStepAt: number;
  /** `failure_epoch` when the job started: a break recorded since voids it. */
  epoch: number;
}

/** R2 objects a full verification reads per call; a chain with more is verified in steps. */
export const FULL_STEP_MAX_COPIES = 500;
/** A stepped full verification left this long without a step starts again from genesis. */
export const FULL_JOB_IDLE_MS = 15 * 60 * 1000;

/**
 * The anchor a run resumes from, checked against D1: its row and every earlier one must still hash and link
 * (they are few: one an hour), and it must be the very anchor verified before. Otherwise no trusted start
 * (the run goes from genesis) and the break that says why.
 */
function trustedAnchor(
  anchors: readonly AuditAnchor[],
  from: VerifiedAnchorMeta,
): { trusted: AuditAnchor | null; broken: ChainBreak | null } {
  const found = anchors.find((a) => a.anchorNo === from.anchorNo) ?? null;
  const earlier = anchors.filter((a) => a.anchorNo <= from.anchorNo);
  const rowBreak = earlier.find(
    (a, i) =>
      hashAnchor(a) !== a.anchorHash ||
      a.prevAnchorHash !== (i === 0 ? ANCHOR_GENESIS_HASH : earlier[i - 1]!.anchorHash),
  );
  if (rowBreak)
    return {
      trusted: null,
      broken: {
        seq: rowBreak.toSeq,
        anchorNo: rowBreak.anchorNo,
        reason: `anchor ${rowBreak.anchorNo} row was edited or relinked`,
      },
    };
  if (!found || found.anchorHash !== from.anchorHash)
    return {
      trusted: null,
      broken: {
        seq: found?.toSeq ?? 1,
        anchorNo: from.anchorNo,
        reason: `anchor ${from.anchorNo} changed or vanished since it was verified`,
      },
    };
  return { trusted: found, broken: null };
}

/**
 * Where a step of a full verification stops: the furthest anchor whose copies fit the budget (at least the
 * next anchor: a step can only stop where D1 fixes the hash); null (to the head) when everything ahead fits
 * or no anchor lies ahead.
 */
function stepStop(
  batches: readonly AuditMirrorBatch[],
  anchors: readonly AuditAnchor[],
  fromSeq: number,
  maxCopies: number,
): AuditAnchor | null {
  const ahead = batches.filter((b) => b.toSeq > fromSeq);
  if (ahead.length <= maxCopies) return null;
  const limitSeq = ahead[Math.max(0, maxCopies - 1)]!.toSeq;
  const next = anchors.filter((a) => a.toSeq > fromSeq);
  return next.filter((a) => a.toSeq <= limitSeq).at(-1) ?? next[0] ?? null;
}

/**
 * Verify the chain: `full` from genesis, `incremental` from the last anchor a previous run verified.
 * Recomputes every hash and link, sequence continuity, anchors (row hash, link, head, manifest,
 * truncation) and every R2 copy; names the first broken seq.
 *
 * A `full` run reads at most `maxCopies` R2 objects per call. A chain with more is verified in steps, anchor
 * to anchor: each call walks from where the previous step stopped (an anchor, re-checked in D1) to the
 * furthest anchor within the budget and answers `complete: false`; the caller calls again until
 * `complete: true`. Progress is kept in the sequencer (`full_job`) and dropped after `FULL_JOB_IDLE_MS`
 * without a step, or at the first break. Only a complete run clears a broken integrity.
 */
export async function verifyChain(
  store: ChainStore,
  sources: { db: D1Database; r2: R2Bucket; keys: AnchorKeys },
  mode: "incremental" | "full",
  nowMs: number,
  maxCopies = FULL_STEP_MAX_COPIES,
): Promise<Result<AuditVerification>> {
  const { db, r2, keys } = sources;
  // Anchors are only trusted signed: without the key their signatures cannot be checked (an outage, not a break).
  const { verifiers, error: keyError } = keys;
  if (verifiers.length === 0)
    return err(ErrorCode.serviceUnavailable, `anchor signatures cannot be checked: ${keyError}`);
  // Settled either way, so it can be awaited after the walk without an unhandled rejection meanwhile.
  const anchorsRead = listAnchors(db).then(
    (anchors) => ({ anchors }),
    (error: Error) => ({ error }),
  );
  const breaks: (ChainBreak | null)[] = [];
  let trusted: AuditAnchor | null = null;
  let stop: AuditAnchor | null = null;
  const batches = store.batches();
  // Breaks recorded so far: a run during which another run recorded one cannot clear it, and a stepped job
  // is void once one is recorded after it started.
  const epoch = store.getMeta<number>("failure_epoch") ?? 0;
  // Where this run starts: incremental at the last verified anchor; a full run at genesis, or where its
  // previous step stopped while that job is fresh.
  const job = mode === "full" ? freshFullJob(store, nowMs, epoch) : null;
  const from = mode === "incremental" ? store.getMeta<VerifiedAnchorMeta>("verified_anchor") : job;
  const stepped = mode === "full" && (job !== null || batches.length > maxCopies);
  // A one-call full run starts at genesis whatever D1 holds, so it walks while the anchors are read; the
  // others need them first (their start, or where a step may stop).
  let read: Awaited<typeof anchorsRead> | null = null;
  if (mode === "incremental" || stepped) {
    read = await anchorsRead;
    if ("error" in read)
      return err(ErrorCode.serviceUnavailable, `D1_ANCHOR unavailable: ${read.error.message}`);
    if (from) {
      const checked = trustedAnchor(read.anchors, from);
      trusted = checked.trusted;
      breaks.push(checked.broken);
    }
    if (stepped) stop = stepStop(batches, read.anchors, trusted?.toSeq ?? 0, maxCopies);
  }
  const start: ChainPoint = trusted ? { seq: trusted.toSeq, hash: trusted.headHash } : GENESIS_POINT;
  const headSeq = store.maxSeq();
  // The trusted anchor is not re-walked, but the head must still reach it (truncation, rollback).
  if (trusted && headSeq < trusted.toSeq)
    breaks.push({
      seq: headSeq + 1,
      anchorNo: trusted.anchorNo,
      reason: `chain truncated or rolled back: head ${headSeq} is below anchor ${trusted.anchorNo} toSeq ${trusted.toSeq}`,
    });
  // Anchors sit on batch ends, so the batches after a verified anchor start right after its toSeq.
  const toCheck = batches.filter((b) => b.toSeq > start.seq && (!stop || b.toSeq <= stop.toSeq));
  const listBreak = verifyBatchList(toCheck, start.seq + 1);
  breaks.push(listBreak);
  // The hashes kept are those at batch ends: the only places an anchor may sit (verifyAnchors refuses
  // any other), so they are known before the anchors are.
  const verifier = new ChainVerifier(start, new Set(toCheck.map((b) => b.toSeq)));
  // Walk the chain batch by batch: each batch's rows are walked while its R2 copy and the next ones are
  // still being fetched, then the copy is compared with those same rows (one read of each row).
  const walked = listBreak ? [] : toCheck;
  const fetches = walked.map((b, i) => (i < R2_WINDOW ? fetchCopy(r2, b.key) : null));
  const copyBreaks: (ChainBreak | null)[] = [];
  // The batch's rows as bytes, each followed by a newline (what its R2 copy must hold), filled by the walk.
  const rowBytes = new LineBytes();
  let walkedTo = start.seq;
  for (const [i, b] of walked.entries()) {
    if (i + R2_WINDOW < walked.length) fetches[i + R2_WINDOW] = fetchCopy(r2, walked[i + R2_WINDOW]!.key);
    rowBytes.clear();
    // raw(): rows as arrays, no object per row.
    for (const [seq, body] of store.entryRowsBetween(b.fromSeq, b.toSeq)) {
      verifier.next(body, seq, false, rowBytes);
    }
    const copy = await fetches[i]!;
    fetches[i] = null;
    // An outage proves nothing either way: fail the call and leave the integrity state alone.
    if (copy.unavailable)
      return err(ErrorCode.serviceUnavailable, `R2_AUDIT unavailable: ${copy.unavailable}`);
    copyBreaks.push(verifyBatchCopy(b, copy.bytes, rowBytes.bytes, copy.sha256));
    walkedTo = b.toSeq;
  }
  // The entries not yet mirrored, when this run goes to the head.
  if (!stop)
    for (const [seq, body] of store.entryRowsAfter(walkedTo)) {
      if (verifier.next(body, seq)) break;
    }
  read ??= await anchorsRead;
  if ("error" in read)
    return err(ErrorCode.serviceUnavailable, `D1_ANCHOR unavailable: ${read.error.message}`);
  const anchors = read.anchors;
  const later = anchors.filter(
    (a) => (!trusted || a.anchorNo > trusted.anchorNo) && (!stop || a.anchorNo <= stop.anchorNo),
  );
  // On a tie the chain's own reason wins over what it implies for anchors and copies.
  breaks.push(verifier.broken);
  breaks.push(
    verifyAnchors(later, {
      headSeq,
      hashAt: (seq) => verifier.wantedHashes.get(seq) ?? (seq === start.seq ? start.hash : undefined),
      batches,
      trusted,
      verifiers,
    }),
  );
  breaks.push(...copyBreaks);
  const broken = firstBreak(...breaks);
  const result: AuditVerification = {
    mode,
    ok: broken === null,
    fromSeq: start.seq + 1,
    toSeq: verifier.head.seq,
    checkedEntries: verifier.checked,
    checkedAnchors: later.length,
    verifiedAt: new Date(nowMs).toISOString(),
    complete: stop === null,
  };
  if (broken) {
    result.brokenSeq = broken.seq;
    result.reason = broken.reason;
    if (broken.anchorNo !== undefined) result.brokenAnchor = broken.anchorNo;
  } else if (
    (mode === "incremental" && store.getMeta<string>("integrity") === "broken") ||
    (store.getMeta<number>("failure_epoch") ?? 0) !== epoch
  ) {
    // What this run walked is intact, but a break found before (or by another run while this one ran, perhaps
    // in what this one had already walked) lies outside it: say so, every time, until a full verification
    // that starts after it passes (the audit watch halts trading on this answer).
    const found = store.getMeta<LastFailure>("last_failure");
    result.ok = false;
    if (found?.brokenSeq != null) result.brokenSeq = found.brokenSeq;
    result.reason = `${STILL_BROKEN}: ${found?.reason ?? "unknown"} (found by a ${found?.mode ?? "previous"} verification at ${found?.verifiedAt ?? "?"}); only a full verification that passes clears it`;
    if (found?.brokenAnchor !== undefined) result.brokenAnchor = found.brokenAnchor;
  }
  if (mode === "full") {
    if (result.ok && stop)
      store.setMeta<FullJob>("full_job", {
        anchorNo: stop.anchorNo,
        anchorHash: stop.anchorHash,
        startedAt: job?.startedAt ?? nowMs,
        lastStepAt: nowMs,
        epoch,
      });
    else if (store.getMeta<FullJob>("full_job")) store.deleteMeta("full_job");
  }
  if (result.ok && stop) {
    // A step on the way: progress only; the integrity state is left to the step that completes.
    store.setMeta("last_verification", result);
    return ok(result);
  }
  recordVerification(store, result, anchors.at(-1) ?? null);
  return ok(result);
}

/** The full verification in progress, unless it has had no step for FULL_JOB_IDLE_MS. */
function freshFullJob(store: ChainStore, nowMs: number, epoch: number): FullJob | null {
  const job = store.getMeta<FullJob>("full_job");
  return job && job.epoch === epoch && nowMs - job.lastStepAt <= FULL_JOB_IDLE_MS ? job : null;
}

/** One R2 copy; an R2 failure is not a missing copy, so it comes back as `unavailable`. */
async function fetchCopy(r2: R2Bucket, key: string): Promise<FetchedCopy> {
  try {
    const object = await r2.get(key);
    if (!object) return { bytes: null };
    const sha = object.checksums.sha256;
    const bytes = new Uint8Array(await object.arrayBuffer());
    return sha ? { bytes, sha256: toHex(sha) } : { bytes };
  } catch (error) {
    return { bytes: null, unavailable: (error as Error).message || "R2 read failed" };
  }
}
