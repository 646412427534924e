// Over 400 lines, not yet split (issue #17 item 3): append, mirror, anchoring, verification and export all share
// the in-memory head, the SQL store and the R2 mirror state of this one object; splitting them is the next step.
import { DurableObject } from "cloudflare:workers";
import type { ChainPoint } from "@paulp/audit-chain";
import {
  type AuditAnchor,
  type AuditEventInput,
  type AuditMirrorBatch,
  type AuditReceipt,
  type AuditReceiptCheck,
  type AuditStatus,
  type AuditVerification,
  ErrorCode,
  err,
  ok,
  type Result,
} from "@paulp/contracts";
import { auditAlerts } from "./alerts";
import { type AnchorKeys, parseAnchorKeys } from "./anchor-keys";
import { AnchorProof, anchorMirroredHead } from "./anchoring";
import { latestAnchor } from "./anchors";
import { ChainAppender } from "./append";
import { ChainStore } from "./chain-store";
import type { Env } from "./env";
import { checkReceipts, type LastFailure } from "./integrity";
import {
  ChainMirror,
  MIRROR_BATCH_MAX,
  MIRROR_BATCH_MAX_BYTES,
  MIRROR_DELAY_MS,
  type MirrorProgress,
} from "./mirror";
import { FULL_JOB_IDLE_MS, FULL_STEP_MAX_COPIES, verifyChain } from "./verification";

/** Most bytes of entry lines in one export page. */
const EXPORT_PAGE_MAX_BYTES = 8 * 1024 * 1024;

export { FULL_JOB_IDLE_MS, FULL_STEP_MAX_COPIES, MIRROR_BATCH_MAX, MIRROR_BATCH_MAX_BYTES, MIRROR_DELAY_MS };

/**
 * The one Durable Object that orders every audit event (one instance, `idFromName("chain")`).
 * Appends hash synchronously (node:crypto) and write in the same synchronous turn as the head is read,
 * so concurrent appends can neither fork nor skip; the RPC answer is held by the output gate until the
 * SQLite write is durable. The R2 mirror and anchors run behind it and never block an append.
 */
export class AuditSequencer extends DurableObject<Env> {
  private readonly store: ChainStore;
  private readonly appender: ChainAppender;
  /** Whether this chain contains the latest D1 anchor (see AnchorProof): nothing is written until it is proved. */
  private readonly proof: AnchorProof;
  /** The anchor signing key, parsed once (null with the reason when it is missing or malformed). */
  private keys: AnchorKeys | null = null;
  private readonly mirror: ChainMirror;
  private alarmPending = false;
  private anchorQueue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new ChainStore(ctx.storage);
    this.appender = new ChainAppender(
      this.store,
      () => Date.now(),
      () => this.scheduleMirror(Date.now() + MIRROR_DELAY_MS),
    );
    this.mirror = new ChainMirror(this.store);
    this.proof = new AnchorProof(
      this.store,
      () => this.head.seq,
      () => this.signingKeys().verifiers,
      () => Date.now(),
    );
  }

  private get head(): ChainPoint {
    return this.appender.head;
  }

  private get headError(): string | null {
    return this.appender.headError;
  }

  /** The time of the last committed group (read by the restart test: a fresh instance starts at the head's). */
  private get lastTs(): number {
    return this.appender.lastTs;
  }

  async ping(): Promise<string> {
    return this.headError ? `head unreadable` : `head ${this.head.seq}`;
  }

  /**
   * Append events atomically (all or none) and return their receipts (group-committed: see ChainAppender). The
   * caller's clock is ignored: entries carry the sequencer's own, floored at the head's.
   */
  async append(events: AuditEventInput[], _nowMs: number): Promise<Result<AuditReceipt[]>> {
    if (this.headError) return err(ErrorCode.integrityBroken, this.headError);
    if (!this.proof.proven) {
      const proved = await this.proof.ensure(this.env.D1_ANCHOR);
      if (!proved.ok) return proved;
    }
    return this.appender.enqueue(events);
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
    if (this.mirror.mirroredTo < this.head.seq) this.scheduleMirror(Date.now() + this.mirror.retryDelayMs());
  }

  /** Mirror every entry appended so far to R2 (one run at a time). */
  async flushMirror(): Promise<MirrorProgress> {
    // A chain not proved to contain the latest anchor writes nothing to R2 (R2 would hold both histories).
    const proved = this.proof.proven ? ok(undefined) : await this.proof.ensure(this.env.D1_ANCHOR);
    if (!proved.ok) return { mirroredTo: this.mirror.mirroredTo, error: proved.error.message };
    return this.mirror.flush(this.env.R2_AUDIT, this.head.seq);
  }

  /**
   * Anchor the mirrored head in D1 (serialised). The anchor covers exactly the entries already in R2, so
   * its manifest hash binds the R2 copies too. Null when nothing new since the last anchor, or when this
   * cron slot was already anchored.
   */
  anchor(options: { nowMs: number; cronSlot?: number }): Promise<Result<AuditAnchor | null>> {
    const context = {
      db: this.env.D1_ANCHOR,
      keys: this.signingKeys(),
      proof: this.proof,
      headSeq: () => this.head.seq,
      flush: () => this.flushMirror(),
    };
    const run = this.anchorQueue.then(() =>
      anchorMirroredHead(this.store, context, options.nowMs, options.cronSlot),
    );
    this.anchorQueue = run.catch(() => undefined);
    return run;
  }

  /** The anchor keys, parsed once. */
  private signingKeys(): AnchorKeys {
    this.keys ??= parseAnchorKeys(this.env.AUDIT_SIGNING_KEY, this.env.AUDIT_RETIRED_VERIFIER_KEYS);
    return this.keys;
  }

  /** Verify the chain (see verifyChain): `full` from genesis, in steps of `maxCopies` R2 reads; `incremental`. */
  async verify(
    mode: "incremental" | "full",
    nowMs: number,
    maxCopies = FULL_STEP_MAX_COPIES,
  ): Promise<Result<AuditVerification>> {
    const sources = { db: this.env.D1_ANCHOR, r2: this.env.R2_AUDIT, keys: this.signingKeys() };
    return verifyChain(this.store, sources, mode, nowMs, maxCopies);
  }

  /**
   * Whether the chain still holds each receipt a caller kept: entry `seq` present with hash `hash`. A receipt
   * above the head (entries gone: truncated or restored) or with another hash (rewritten) is a break.
   */
  async checkReceipts(receipts: AuditReceipt[], nowMs: number): Promise<Result<AuditReceiptCheck>> {
    if (this.headError) return err(ErrorCode.integrityBroken, this.headError);
    return ok(checkReceipts(this.store, this.head.seq, receipts, nowMs));
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
    if (this.proof.state === "unproven") this.proof.against(lastAnchor);
    const entryCount = this.store.entryCount();
    const recorded = this.store.getMeta<"ok" | "broken">("integrity");
    // Cheap live checks on top of the last verification: an unreadable head, a head below an anchor.
    const liveBroken =
      this.headError !== null ||
      this.proof.forked !== null ||
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
      r2MirrorLag: Math.max(0, this.head.seq - this.mirror.mirroredTo),
      r2MirrorError: this.mirror.error,
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
      brokenReason: this.proof.forked ?? this.headError ?? failure?.reason ?? null,
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
