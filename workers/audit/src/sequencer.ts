import { DurableObject } from "cloudflare:workers";
import type { ChainPoint } from "@paulp/audit-chain";
import type {
  AuditAnchor,
  AuditEventInput,
  AuditMirrorBatch,
  AuditReceipt,
  AuditReceiptCheck,
  AuditStatus,
  AuditVerification,
  Result,
} from "@paulp/contracts";
import { ErrorCode, err, ok } from "@paulp/contracts";
import { type AnchorKeys, parseAnchorKeys } from "./anchor-keys";
import { AnchorProof, anchorMirroredHead } from "./anchoring";
import { latestAnchor } from "./anchors";
import { ChainAppender } from "./append";
import { ChainStore, type EntryRow } from "./chain-store";
import type { Env } from "./env";
import { exportPage } from "./export";
import { checkReceipts } from "./integrity";
import {
  ChainMirror,
  MIRROR_BATCH_MAX,
  MIRROR_BATCH_MAX_BYTES,
  MIRROR_DELAY_MS,
  type MirrorProgress,
} from "./mirror";
import { chainStatus } from "./status";
import { FULL_JOB_IDLE_MS, FULL_STEP_MAX_COPIES, verifyChain } from "./verification";

export { FULL_JOB_IDLE_MS, FULL_STEP_MAX_COPIES, MIRROR_BATCH_MAX, MIRROR_BATCH_MAX_BYTES, MIRROR_DELAY_MS };

/**
 * The one Durable Object that orders every audit event (one instance, `idFromName("chain")`).
 * Appends hash synchronously (node:crypto) and write in the same synchronous turn as the head is read,
 * so concurrent appends can neither fork nor skip; the RPC answer is held by the output gate until the
 * SQLite write is durable. The R2 mirror and anchors run behind it and never block an append.
 *
 * A thin shell over plain modules that take the typed store (chain-store) and the clock as values: append
 * (head and group commit), mirror (R2 copy), anchoring (fork proof, signed anchors), verification, integrity
 * (breaks, receipt checks), status and export. The shell owns the storage, the bindings, the wall clock, the
 * mirror alarm and the anchor queue.
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
    this.store = new ChainStore(ctx.storage, Date.now());
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
   * caller's clock is ignored: entries carry the sequencer's own, floored at the head's. With an idempotency
   * key (one event), an append already recorded answers its receipt instead.
   */
  async append(
    events: AuditEventInput[],
    _nowMs: number,
    idempotencyKey?: string,
  ): Promise<Result<AuditReceipt[]>> {
    if (this.headError) return err(ErrorCode.integrityBroken, this.headError);
    if (!this.proof.proven) {
      const proved = await this.proof.ensure(this.env.D1_ANCHOR);
      if (!proved.ok) return proved;
    }
    return this.appender.enqueue(events, idempotencyKey);
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
    return ok(
      chainStatus(
        this.store,
        {
          head: this.head,
          headError: this.headError,
          forked: this.proof.forked,
          mirror: { mirroredTo: this.mirror.mirroredTo, error: this.mirror.error },
          keys: this.signingKeys(),
          lastAnchor,
        },
        nowMs,
      ),
    );
  }

  /** The head to export up to, so an export is one consistent snapshot. */
  async exportHead(): Promise<ChainPoint> {
    return this.head;
  }

  /** Up to `limit` entries after `afterSeq` up to `maxSeq`, and at most EXPORT_PAGE_MAX_BYTES of them (see exportPage). */
  async exportPage(afterSeq: number, maxSeq: number, limit: number): Promise<EntryRow[]> {
    return exportPage(this.store, afterSeq, maxSeq, limit);
  }

  /** Mirror batches wholly at or below `maxSeq`. */
  async exportBatches(maxSeq: number): Promise<AuditMirrorBatch[]> {
    return this.store.batches(maxSeq);
  }
}
