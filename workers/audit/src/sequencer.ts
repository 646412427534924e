// Over 400 lines, not yet split (issue #17 item 3): append, mirror, anchoring, verification and export all share
// the in-memory head, the SQL store and the R2 mirror state of this one object; splitting them is the next step.
import { DurableObject } from "cloudflare:workers";
import {
  ANCHOR_GENESIS_HASH,
  anchorRefusal,
  batchBytes,
  batchKey,
  buildAnchor,
  buildEntry,
  type ChainBreak,
  type ChainPoint,
  ChainVerifier,
  checkpointRefusal,
  entryLine,
  firstBreak,
  GENESIS_POINT,
  hashAnchor,
  LineBytes,
  manifestHash,
  type NoteSigner,
  type NoteVerifier,
  parseSignerKey,
  parseVerifierKey,
  sha256Hex,
  signCheckpoint,
  verifyAnchors,
  verifyBatchCopy,
  verifyBatchList,
} from "@paulp/audit-chain";
import {
  type AuditAnchor,
  type AuditEventInput,
  type AuditMirrorBatch,
  type AuditReceipt,
  type AuditReceiptBreak,
  type AuditReceiptCheck,
  type AuditStatus,
  type AuditVerification,
  ErrorCode,
  err,
  ok,
  type Result,
} from "@paulp/contracts";
import { CanonicalJsonError, toHex } from "@paulp/kit";
import { auditAlerts } from "./alerts";
import { insertAnchor, latestAnchor, listAnchors } from "./anchors";
import { ChainStore } from "./chain-store";
import type { Env } from "./env";

/** Most bytes (of entry lines) in one R2 object. */
export const MIRROR_BATCH_MAX_BYTES = 8 * 1024 * 1024;
/** Most bytes of entry lines in one export page. */
const EXPORT_PAGE_MAX_BYTES = 8 * 1024 * 1024;
/** Most entries in one R2 object. */
export const MIRROR_BATCH_MAX = 1_000;
/** Appends are mirrored in batches: the alarm fires this long after the first unmirrored append. */
export const MIRROR_DELAY_MS = 1_000;
/** How an incremental answer starts while a break found earlier has not been cleared by a full verification. */
const STILL_BROKEN = "integrity is broken since an earlier verification";

/** The break that set `integrity` to broken, kept for every later answer until a full verification passes. */
interface LastFailure {
  /** What found it: a verification, the proof against the latest anchor, or a receipt check. */
  mode: "full" | "incremental" | "anchor proof" | "receipt check";
  brokenSeq: number | null;
  brokenAnchor?: number;
  reason: string;
  verifiedAt: string;
}

/** R2 copies fetched ahead of the chain walk during verification. */
const R2_WINDOW = 4;
/** Retry backoff of a failing mirror, capped. */
const MIRROR_RETRY_MAX_MS = 60_000;

interface PendingAppend {
  events: AuditEventInput[];
  nowMs: number;
  resolve: (result: Result<AuditReceipt[]>) => void;
}

/** An R2 copy as verification reads it; an R2 failure is `unavailable`, not a missing copy. */
interface FetchedCopy {
  bytes: Uint8Array | null;
  sha256?: string;
  unavailable?: string;
}

interface VerifiedAnchorMeta {
  anchorNo: number;
  anchorHash: string;
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
 * The one Durable Object that orders every audit event (one instance, `idFromName("chain")`).
 * Appends hash synchronously (node:crypto) and write in the same synchronous turn as the head is read,
 * so concurrent appends can neither fork nor skip; the RPC answer is held by the output gate until the
 * SQLite write is durable. The R2 mirror and anchors run behind it and never block an append.
 */
export class AuditSequencer extends DurableObject<Env> {
  private readonly store: ChainStore;
  private head: ChainPoint = GENESIS_POINT;
  /** Set when the stored head cannot be read: appends are refused (fail closed). */
  private headError: string | null = null;
  /**
   * Whether this chain contains the latest D1 anchor's head, proved after every start and before every anchor. A
   * sequencer restored to an older state (or otherwise forked from what D1 anchored) must not append, mirror or
   * anchor: until the proof is made nothing is written, and once it fails appends are refused for good.
   */
  private proof: "unproven" | "proven" | { forked: string } = "unproven";
  private proving: Promise<Result<void>> | null = null;
  /** The anchor signing key, parsed once (null with the reason when it is missing or malformed). */
  private keys: { signer: NoteSigner | null; verifiers: NoteVerifier[]; error: string | null } | null = null;
  private mirroredTo = 0;
  private mirrorError: string | null = null;
  private mirrorFailures = 0;
  private mirrorRun: Promise<void> | null = null;
  private alarmPending = false;
  private anchorQueue: Promise<unknown> = Promise.resolve();
  private pending: PendingAppend[] = [];
  /** The time of the last committed group: entry times never go backwards, even if the clock does. */
  private lastTs = 0;
  private commitScheduled = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new ChainStore(ctx.storage);
    this.loadHead();
    this.mirroredTo = this.store.mirroredTo();
  }

  private loadHead(): void {
    const row = this.store.lastEntry();
    if (!row) return;
    try {
      const { hash, ts } = JSON.parse(row.body) as { hash?: unknown; ts?: unknown };
      if (typeof hash !== "string" || !/^[0-9a-f]{64}$/.test(hash)) throw new Error("no hash");
      this.head = { seq: row.seq, hash };
      // Entry times stay monotonic across restarts too: never before the head's.
      const last = typeof ts === "string" ? Date.parse(ts) : Number.NaN;
      if (Number.isFinite(last)) this.lastTs = last;
    } catch {
      this.headError = `stored head entry ${row.seq} is unreadable`;
    }
  }

  async ping(): Promise<string> {
    return this.headError ? `head unreadable` : `head ${this.head.seq}`;
  }

  /**
   * Append events atomically (all or none) and return their receipts. Calls that arrive together are
   * group-committed: one synchronous write (head read to last row) and one durable commit for all of them.
   */
  async append(events: AuditEventInput[], nowMs: number): Promise<Result<AuditReceipt[]>> {
    if (this.headError) return err(ErrorCode.integrityBroken, this.headError);
    if (this.proof !== "proven") {
      const proved = await this.ensureProven();
      if (!proved.ok) return proved;
    }
    return new Promise((resolve) => {
      this.pending.push({ events, nowMs, resolve });
      if (!this.commitScheduled) {
        this.commitScheduled = true;
        // One macrotask later: the requests already queued at the input gate join this group.
        setTimeout(() => this.commitPending(), 0);
      }
    });
  }

  private commitPending(): void {
    this.commitScheduled = false;
    const group = this.pending;
    this.pending = [];
    this.commitGroup(group);
  }

  /**
   * Write a group of calls in one transaction. Each call's entries are built first (pure): a call whose payload
   * cannot be canonicalised fails alone. If the group's write fails, each call is written again on its own, so
   * one call the store refuses cannot fail the others with it.
   */
  private commitGroup(group: PendingAppend[]): void {
    if (this.headError) {
      for (const p of group) p.resolve(err(ErrorCode.integrityBroken, this.headError));
      return;
    }
    // One clock for the group, the sequencer's own: a later seq never carries an earlier time.
    const ts = new Date(Math.max(Date.now(), this.lastTs)).toISOString();
    let head = this.head;
    const planned: { call: PendingAppend; lines: [number, string][]; receipts: AuditReceipt[] }[] = [];
    for (const call of group) {
      try {
        let h = head;
        const lines: [number, string][] = [];
        const receipts: AuditReceipt[] = [];
        for (const event of call.events) {
          const entry = buildEntry(h, event, ts);
          lines.push([entry.seq, entryLine(entry)]);
          receipts.push({ seq: entry.seq, hash: entry.hash });
          h = { seq: entry.seq, hash: entry.hash };
        }
        head = h;
        planned.push({ call, lines, receipts });
      } catch (error) {
        const message =
          error instanceof CanonicalJsonError ? `payload: ${error.message}` : "event could not be hashed";
        call.resolve(err(ErrorCode.validationFailed, message));
      }
    }
    if (planned.length === 0) return;
    try {
      // Synchronous from the head read above to the last row: nothing else runs in between.
      this.store.insertEntries(planned.flatMap((p) => p.lines));
    } catch {
      if (planned.length > 1) {
        for (const p of planned) this.commitGroup([p.call]);
        return;
      }
      planned[0]!.call.resolve(err(ErrorCode.auditUnavailable, "append could not be written"));
      return;
    }
    this.head = head;
    this.lastTs = Date.parse(ts);
    // Answers leave only once the write is durable (the output gate holds them until the commit).
    for (const p of planned) p.call.resolve(ok(p.receipts));
    this.scheduleMirror(Date.now() + MIRROR_DELAY_MS);
  }

  private scheduleMirror(at: number): void {
    if (this.alarmPending) return;
    this.alarmPending = true;
    // Not awaited: the alarm write is covered by the same output gate as the entries.
    this.ctx.storage.setAlarm(at).catch(() => {
      this.alarmPending = false;
    });
  }

  override async alarm(): Promise<void> {
    this.alarmPending = false;
    await this.flushMirror();
    if (this.mirroredTo < this.head.seq) {
      const delay = this.mirrorError
        ? Math.min(MIRROR_RETRY_MAX_MS, 1_000 * 2 ** Math.min(this.mirrorFailures, 6))
        : MIRROR_DELAY_MS;
      this.scheduleMirror(Date.now() + delay);
    }
  }

  /** Mirror every entry appended so far to R2 (one run at a time). */
  async flushMirror(): Promise<{ mirroredTo: number; error: string | null }> {
    // A chain not proved to contain the latest anchor writes nothing to R2 (R2 would hold both histories).
    const proved = this.proof === "proven" ? ok(undefined) : await this.ensureProven();
    if (!proved.ok) return { mirroredTo: this.mirroredTo, error: proved.error.message };
    this.mirrorRun ??= this.mirrorOnce().finally(() => {
      this.mirrorRun = null;
    });
    await this.mirrorRun;
    return { mirroredTo: this.mirroredTo, error: this.mirrorError };
  }

  private async mirrorOnce(): Promise<void> {
    const target = this.head.seq;
    try {
      while (this.mirroredTo < target) {
        const from = this.mirroredTo + 1;
        const upTo = Math.min(target, from + MIRROR_BATCH_MAX - 1);
        // At most MIRROR_BATCH_MAX entries and MIRROR_BATCH_MAX_BYTES (one entry can be ~66 KB): a batch, and
        // verification and export of it, stay far inside an isolate's memory whatever the payloads.
        const lines: string[] = [];
        let size = 0;
        let full = false;
        for (const r of this.store.entriesBetween(from, upTo)) {
          if (r.seq !== from + lines.length) throw new Error(`entry ${from + lines.length} is not present`);
          if (lines.length > 0 && size + r.body.length + 1 > MIRROR_BATCH_MAX_BYTES) {
            full = true;
            break;
          }
          lines.push(r.body);
          size += r.body.length + 1;
        }
        // Short only because the byte budget was reached; otherwise every entry up to `upTo` must be there.
        if (lines.length === 0 || (!full && lines.length !== upTo - from + 1))
          throw new Error(`entries ${from}..${upTo} are not all present`);
        const to = from + lines.length - 1;
        const bytes = batchBytes(lines);
        const batch: AuditMirrorBatch = {
          key: batchKey(from, to),
          fromSeq: from,
          toSeq: to,
          sha256: sha256Hex(bytes),
        };
        // Create-only: an existing object is never overwritten; R2 checks the upload against its SHA-256.
        const put = await this.env.R2_AUDIT.put(batch.key, bytes, {
          sha256: batch.sha256,
          onlyIf: { etagDoesNotMatch: "*" },
          customMetadata: { fromSeq: String(from), toSeq: String(to) },
        });
        if (put === null) {
          // A previous attempt may have written it before this object was evicted: accept only identical bytes.
          const existing = await this.env.R2_AUDIT.get(batch.key);
          const existingBytes = existing ? new Uint8Array(await existing.arrayBuffer()) : null;
          if (!existingBytes || sha256Hex(existingBytes) !== batch.sha256) {
            throw new Error(`R2 object ${batch.key} already exists with different content`);
          }
        }
        this.store.insertBatch(batch);
        this.mirroredTo = to;
      }
      this.mirrorError = null;
      this.mirrorFailures = 0;
    } catch (error) {
      this.mirrorError = (error as Error).message || "R2 mirror failed";
      this.mirrorFailures++;
    }
  }

  /**
   * Anchor the mirrored head in D1 (serialised). The anchor covers exactly the entries already in R2, so
   * its manifest hash binds the R2 copies too. Null when nothing new since the last anchor, or when this
   * cron slot was already anchored.
   */
  anchor(options: { nowMs: number; cronSlot?: number }): Promise<Result<AuditAnchor | null>> {
    const run = this.anchorQueue.then(() => this.anchorOnce(options));
    this.anchorQueue = run.catch(() => undefined);
    return run;
  }

  private async anchorOnce({
    nowMs,
    cronSlot,
  }: {
    nowMs: number;
    cronSlot?: number;
  }): Promise<Result<AuditAnchor | null>> {
    try {
      const db = this.env.D1_ANCHOR;
      if (cronSlot !== undefined) {
        const done = await db
          .prepare("SELECT 1 AS one FROM anchors WHERE cron_slot = ?")
          .bind(cronSlot)
          .first();
        if (done) return ok(null);
      }
      const keys = this.signingKeys();
      if (!keys.signer)
        return err(ErrorCode.serviceUnavailable, `anchors are signed, and cannot be: ${keys.error}`);
      // Never anchor on top of an anchor this chain does not contain: prove it first (this queue is the only
      // writer of anchors, so `previous` is still the latest when the new one is inserted).
      const previous = await latestAnchor(db);
      const proved = this.proveAgainst(previous);
      if (!proved.ok) return proved;
      const target = this.head.seq;
      let mirror = await this.flushMirror();
      if (mirror.mirroredTo < target && !mirror.error) mirror = await this.flushMirror();
      const toSeq = mirror.mirroredTo;
      if (toSeq === 0 || (previous && previous.toSeq === toSeq)) {
        return mirror.error && toSeq < target
          ? err(ErrorCode.serviceUnavailable, `R2 mirror behind: ${mirror.error}`)
          : ok(null);
      }
      const headHash = this.store.hashAt(toSeq);
      if (!headHash) return err(ErrorCode.integrityBroken, `entry ${toSeq} is unreadable; not anchoring`);
      const built = buildAnchor(
        previous,
        { seq: toSeq, hash: headHash },
        new Date(nowMs).toISOString(),
        manifestHash(this.store.batches(toSeq)),
      );
      const anchor: AuditAnchor = { ...built, checkpoint: signCheckpoint(built, keys.signer) };
      const refusal = anchorRefusal(previous, anchor);
      if (refusal) return err(ErrorCode.conflict, refusal);
      const inserted = await insertAnchor(db, anchor, cronSlot ?? null);
      if (!inserted.ok) return inserted.error.code === "cron_slot_taken" ? ok(null) : inserted;
      return ok(anchor);
    } catch (error) {
      return err(ErrorCode.serviceUnavailable, `anchor failed: ${(error as Error).message}`);
    }
  }

  /** The signing key and the verifier keys anchors may be signed by (this key, and retired ones). */
  private signingKeys(): { signer: NoteSigner | null; verifiers: NoteVerifier[]; error: string | null } {
    if (this.keys) return this.keys;
    let signer: NoteSigner | null = null;
    let error: string | null = null;
    const verifiers: NoteVerifier[] = [];
    try {
      if (!this.env.AUDIT_SIGNING_KEY) throw new Error("AUDIT_SIGNING_KEY is not set");
      signer = parseSignerKey(this.env.AUDIT_SIGNING_KEY);
      verifiers.push(signer.verifier);
    } catch (e) {
      // Never the key itself in a message.
      error = `AUDIT_SIGNING_KEY: ${(e as Error).message}`;
    }
    for (const vkey of (this.env.AUDIT_RETIRED_VERIFIER_KEYS ?? "").split(",").filter((k) => k.trim())) {
      try {
        verifiers.push(parseVerifierKey(vkey));
      } catch (e) {
        error ??= `AUDIT_RETIRED_VERIFIER_KEYS: ${(e as Error).message}`;
      }
    }
    this.keys = { signer, verifiers, error };
    return this.keys;
  }

  /** Prove (once per start, shared by concurrent callers) that this chain contains the latest D1 anchor. */
  private ensureProven(): Promise<Result<void>> {
    if (this.proof === "proven") return Promise.resolve(ok(undefined));
    this.proving ??= (async (): Promise<Result<void>> => {
      if (typeof this.proof === "object") return err(ErrorCode.integrityBroken, this.proof.forked);
      let latest: AuditAnchor | null;
      try {
        latest = await latestAnchor(this.env.D1_ANCHOR);
      } catch (error) {
        return err(
          ErrorCode.auditUnavailable,
          `the chain cannot be proved against D1_ANCHOR (${(error as Error).message}): nothing is appended until it is`,
        );
      }
      return this.proveAgainst(latest);
    })().finally(() => {
      this.proving = null;
    });
    return this.proving;
  }

  /**
   * The chain must contain `anchor` (the latest in D1): entry `toSeq` present and hashing to its `headHash`, the
   * row its own hash and signed. Otherwise this sequencer's state is not what D1 anchored (restored to an older
   * state, or forked): appends are refused from now on and integrity is broken (the audit watch halts trading).
   */
  private proveAgainst(anchor: AuditAnchor | null): Result<void> {
    if (typeof this.proof === "object") return err(ErrorCode.integrityBroken, this.proof.forked);
    if (!anchor) {
      this.proof = "proven";
      return ok(undefined);
    }
    let why: string | null = null;
    const { verifiers } = this.signingKeys();
    if (anchor.toSeq > this.head.seq)
      why = `head ${this.head.seq} is below anchor ${anchor.anchorNo} toSeq ${anchor.toSeq}`;
    else if (this.store.hashAt(anchor.toSeq) !== anchor.headHash)
      why = `entry ${anchor.toSeq} does not hash to anchor ${anchor.anchorNo} headHash`;
    else if (hashAnchor(anchor) !== anchor.anchorHash) why = `anchor ${anchor.anchorNo} row was edited`;
    else if (verifiers.length > 0) {
      const refusal = checkpointRefusal(anchor, verifiers);
      if (refusal) why = `anchor ${anchor.anchorNo} ${refusal}`;
    }
    if (!why) {
      this.proof = "proven";
      return ok(undefined);
    }
    const reason = `the chain does not contain the latest anchor: ${why} (sequencer state restored to an older one, or forked); appends and anchors are refused`;
    this.proof = { forked: reason };
    this.recordBreak({
      mode: "anchor proof",
      brokenSeq: Math.min(anchor.toSeq, this.head.seq + 1),
      brokenAnchor: anchor.anchorNo,
      reason,
      verifiedAt: new Date().toISOString(),
    });
    return err(ErrorCode.integrityBroken, reason);
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
  async verify(
    mode: "incremental" | "full",
    nowMs: number,
    maxCopies = FULL_STEP_MAX_COPIES,
  ): Promise<Result<AuditVerification>> {
    // Anchors are only trusted signed: without the key their signatures cannot be checked (an outage, not a break).
    const { verifiers, error: keyError } = this.signingKeys();
    if (verifiers.length === 0)
      return err(ErrorCode.serviceUnavailable, `anchor signatures cannot be checked: ${keyError}`);
    // Settled either way, so it can be awaited after the walk without an unhandled rejection meanwhile.
    const anchorsRead = listAnchors(this.env.D1_ANCHOR).then(
      (anchors) => ({ anchors }),
      (error: Error) => ({ error }),
    );
    const breaks: (ChainBreak | null)[] = [];
    let trusted: AuditAnchor | null = null;
    let stop: AuditAnchor | null = null;
    const batches = this.store.batches();
    // Breaks recorded so far: a run during which another run recorded one cannot clear it, and a stepped job
    // is void once one is recorded after it started.
    const epoch = this.store.getMeta<number>("failure_epoch") ?? 0;
    // Where this run starts: incremental at the last verified anchor; a full run at genesis, or where its
    // previous step stopped while that job is fresh.
    const job = mode === "full" ? this.freshFullJob(nowMs, epoch) : null;
    const from = mode === "incremental" ? this.store.getMeta<VerifiedAnchorMeta>("verified_anchor") : job;
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
    const headSeq = this.store.maxSeq();
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
    const fetches = walked.map((b, i) => (i < R2_WINDOW ? this.fetchCopy(b.key) : null));
    const copyBreaks: (ChainBreak | null)[] = [];
    // The batch's rows as bytes, each followed by a newline (what its R2 copy must hold), filled by the walk.
    const rowBytes = new LineBytes();
    let walkedTo = start.seq;
    for (const [i, b] of walked.entries()) {
      if (i + R2_WINDOW < walked.length) fetches[i + R2_WINDOW] = this.fetchCopy(walked[i + R2_WINDOW]!.key);
      rowBytes.clear();
      // raw(): rows as arrays, no object per row.
      for (const [seq, body] of this.store.entryRowsBetween(b.fromSeq, b.toSeq)) {
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
      for (const [seq, body] of this.store.entryRowsAfter(walkedTo)) {
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
      (mode === "incremental" && this.store.getMeta<string>("integrity") === "broken") ||
      (this.store.getMeta<number>("failure_epoch") ?? 0) !== epoch
    ) {
      // What this run walked is intact, but a break found before (or by another run while this one ran, perhaps
      // in what this one had already walked) lies outside it: say so, every time, until a full verification
      // that starts after it passes (the audit watch halts trading on this answer).
      const found = this.store.getMeta<LastFailure>("last_failure");
      result.ok = false;
      if (found?.brokenSeq != null) result.brokenSeq = found.brokenSeq;
      result.reason = `${STILL_BROKEN}: ${found?.reason ?? "unknown"} (found by a ${found?.mode ?? "previous"} verification at ${found?.verifiedAt ?? "?"}); only a full verification that passes clears it`;
      if (found?.brokenAnchor !== undefined) result.brokenAnchor = found.brokenAnchor;
    }
    if (mode === "full") {
      if (result.ok && stop)
        this.store.setMeta<FullJob>("full_job", {
          anchorNo: stop.anchorNo,
          anchorHash: stop.anchorHash,
          startedAt: job?.startedAt ?? nowMs,
          lastStepAt: nowMs,
          epoch,
        });
      else if (this.store.getMeta<FullJob>("full_job")) this.store.deleteMeta("full_job");
    }
    if (result.ok && stop) {
      // A step on the way: progress only; the integrity state is left to the step that completes.
      this.store.setMeta("last_verification", result);
      return ok(result);
    }
    this.recordVerification(result, anchors.at(-1) ?? null);
    return ok(result);
  }

  /** The full verification in progress, unless it has had no step for FULL_JOB_IDLE_MS. */
  private freshFullJob(nowMs: number, epoch: number): FullJob | null {
    const job = this.store.getMeta<FullJob>("full_job");
    return job && job.epoch === epoch && nowMs - job.lastStepAt <= FULL_JOB_IDLE_MS ? job : null;
  }

  /** One R2 copy; an R2 failure is not a missing copy, so it comes back as `unavailable`. */
  private async fetchCopy(key: string): Promise<FetchedCopy> {
    try {
      const object = await this.env.R2_AUDIT.get(key);
      if (!object) return { bytes: null };
      const sha = object.checksums.sha256;
      const bytes = new Uint8Array(await object.arrayBuffer());
      return sha ? { bytes, sha256: toHex(sha) } : { bytes };
    } catch (error) {
      return { bytes: null, unavailable: (error as Error).message || "R2 read failed" };
    }
  }

  private recordVerification(result: AuditVerification, lastAnchor: AuditAnchor | null): void {
    this.store.setMeta("last_verification", result);
    // A full verification that reached its verdict (the head, or a break): its age is shown and alerted on.
    if (result.mode === "full") this.store.setMeta("last_full_verification", result);
    // Unchanged values are not rewritten.
    const integrity = this.store.getMeta<string>("integrity");
    if (!result.ok) {
      if (integrity !== "broken") this.store.setMeta("integrity", "broken");
      if (!result.reason?.startsWith(STILL_BROKEN))
        this.recordBreak({
          mode: result.mode,
          brokenSeq: result.brokenSeq ?? null,
          reason: result.reason ?? "",
          verifiedAt: result.verifiedAt,
          ...(result.brokenAnchor !== undefined ? { brokenAnchor: result.brokenAnchor } : {}),
        });
      return;
    }
    // Once broken, only a full verification that passes clears it.
    if (integrity !== "ok" && (integrity !== "broken" || result.mode === "full"))
      this.store.setMeta("integrity", "ok");
    if (lastAnchor && lastAnchor.toSeq <= result.toSeq) {
      const verified = this.store.getMeta<VerifiedAnchorMeta>("verified_anchor");
      if (verified?.anchorNo !== lastAnchor.anchorNo || verified.anchorHash !== lastAnchor.anchorHash)
        this.store.setMeta<VerifiedAnchorMeta>("verified_anchor", {
          anchorNo: lastAnchor.anchorNo,
          anchorHash: lastAnchor.anchorHash,
        });
    }
  }

  /**
   * Record a break (integrity broken until a full verification that starts after it passes): every later
   * incremental answer names it, and a stepped full verification in progress is void.
   */
  private recordBreak(failure: LastFailure): void {
    if (this.store.getMeta<string>("integrity") !== "broken") this.store.setMeta("integrity", "broken");
    this.store.setMeta("failure_epoch", (this.store.getMeta<number>("failure_epoch") ?? 0) + 1);
    this.store.setMeta<LastFailure>("last_failure", failure);
  }

  /**
   * Whether the chain still holds each receipt a caller kept: entry `seq` present with hash `hash`. A receipt
   * above the head (entries gone: truncated or restored) or with another hash (rewritten) is a break.
   */
  async checkReceipts(receipts: AuditReceipt[], nowMs: number): Promise<Result<AuditReceiptCheck>> {
    if (this.headError) return err(ErrorCode.integrityBroken, this.headError);
    const head = this.head.seq;
    const broken: AuditReceiptBreak[] = [];
    for (const { seq, hash } of receipts) {
      if (seq > head) {
        broken.push({
          seq,
          hash,
          reason: "above_head",
          detail: `receipt seq ${seq} is above the head ${head}`,
        });
        continue;
      }
      const stored = this.store.hashAt(seq);
      if (stored === undefined)
        broken.push({
          seq,
          hash,
          reason: "entry_unreadable",
          detail: `entry ${seq} is missing or unreadable`,
        });
      else if (stored !== hash)
        broken.push({
          seq,
          hash,
          reason: "hash_differs",
          detail: `entry ${seq} no longer has the receipt's hash`,
        });
    }
    const checkedAt = new Date(nowMs).toISOString();
    if (broken.length > 0) {
      const first = broken.reduce((a, b) => (b.seq < a.seq ? b : a));
      this.recordBreak({
        mode: "receipt check",
        brokenSeq: Math.min(first.seq, head + 1),
        reason: `receipt check: ${first.detail}${broken.length > 1 ? ` (and ${broken.length - 1} more)` : ""}`,
        verifiedAt: checkedAt,
      });
    }
    return ok({
      ok: broken.length === 0,
      headSeq: head,
      checked: receipts.length,
      held: receipts.length - broken.length,
      broken,
      checkedAt,
    });
  }

  /** Everything `GET /admin/audit/status` shows. */
  async status(nowMs: number): Promise<Result<AuditStatus>> {
    let lastAnchor: AuditAnchor | null;
    try {
      lastAnchor = await latestAnchor(this.env.D1_ANCHOR);
    } catch (error) {
      return err(ErrorCode.serviceUnavailable, `D1_ANCHOR unavailable: ${(error as Error).message}`);
    }
    // A start not yet proved is proved now (status reads the latest anchor anyway).
    if (this.proof === "unproven") this.proveAgainst(lastAnchor);
    const entryCount = this.store.entryCount();
    const recorded = this.store.getMeta<"ok" | "broken">("integrity");
    // Cheap live checks on top of the last verification: an unreadable head, a head below an anchor.
    const liveBroken =
      this.headError !== null ||
      typeof this.proof === "object" ||
      (lastAnchor !== null && lastAnchor.toSeq > this.head.seq);
    const integrity = liveBroken || recorded === "broken" ? "broken" : (recorded ?? "unknown");
    const ageOf = (iso: string | undefined) =>
      iso === undefined ? null : Math.max(0, Math.floor((nowMs - Date.parse(iso)) / 1000));
    const lastFull = this.store.getMeta<AuditVerification>("last_full_verification") ?? null;
    const firstUnanchored = (lastAnchor?.toSeq ?? 0) + 1;
    const oldestUnanchoredTs =
      firstUnanchored <= this.head.seq ? this.store.tsAt(firstUnanchored) : undefined;
    const keys = this.signingKeys();
    const failure = this.store.getMeta<LastFailure>("last_failure");
    const status: AuditStatus = {
      headSeq: this.head.seq,
      headHash: this.head.hash,
      entryCount,
      lastAnchor,
      lastAnchorAgeSeconds: ageOf(lastAnchor?.anchoredAt),
      unanchoredEntries: Math.max(0, this.head.seq - (lastAnchor?.toSeq ?? 0)),
      r2MirrorLag: Math.max(0, this.head.seq - this.mirroredTo),
      r2MirrorError: this.mirrorError,
      lastVerification: this.store.getMeta<AuditVerification>("last_verification") ?? null,
      integrity,
      lastFullVerification: lastFull,
      lastFullVerificationAgeSeconds: ageOf(lastFull?.verifiedAt),
      // An entry whose time cannot be read counts as overdue: it is old enough to be anchored.
      oldestUnanchoredAgeSeconds:
        firstUnanchored > this.head.seq ? null : (ageOf(oldestUnanchoredTs) ?? Number.MAX_SAFE_INTEGER),
      anchorVerifierKey: keys.signer?.verifierKey ?? null,
      alerts: [],
    };
    status.alerts = auditAlerts(status, {
      nowMs,
      chainStartedAt: this.head.seq > 0 ? (this.store.tsAt(1) ?? null) : null,
      keyError: keys.signer ? null : keys.error,
      brokenReason:
        typeof this.proof === "object" ? this.proof.forked : (this.headError ?? failure?.reason ?? null),
      brokenSince: failure?.verifiedAt ?? null,
    });
    return ok(status);
  }

  /** The head to export up to, so an export is one consistent snapshot. */
  async exportHead(): Promise<ChainPoint> {
    return this.head;
  }

  /** Stored entry lines after `afterSeq`, up to `maxSeq`, at most `limit`. */
  /** Up to `limit` entries after `afterSeq`, and at most EXPORT_PAGE_MAX_BYTES of them (at least one). */
  async exportPage(
    afterSeq: number,
    maxSeq: number,
    limit: number,
  ): Promise<{ seq: number; body: string }[]> {
    const rows: { seq: number; body: string }[] = [];
    let size = 0;
    for (const r of this.store.entriesPage(afterSeq, maxSeq, limit)) {
      if (rows.length > 0 && size + r.body.length > EXPORT_PAGE_MAX_BYTES) break;
      rows.push({ seq: r.seq, body: r.body });
      size += r.body.length;
    }
    return rows;
  }

  /** Mirror batches wholly at or below `maxSeq`. */
  async exportBatches(maxSeq: number): Promise<AuditMirrorBatch[]> {
    return this.store.batches(maxSeq);
  }
}
