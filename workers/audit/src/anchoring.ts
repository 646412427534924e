import {
  anchorRefusal,
  buildAnchor,
  checkpointRefusal,
  hashAnchor,
  manifestHash,
  type NoteVerifier,
  signCheckpoint,
} from "@paulp/audit-chain";
import { type AuditAnchor, ErrorCode, err, ok, type Result } from "@paulp/contracts";
import type { AnchorKeys } from "./anchor-keys";
import { insertAnchor, latestAnchor } from "./anchors";
import type { ChainStore } from "./chain-store";
import { recordBreak } from "./integrity";
import type { MirrorProgress } from "./mirror";

/**
 * Whether this chain contains the latest D1 anchor's head, proved after every start and before every anchor. A
 * sequencer restored to an older state (or otherwise forked from what D1 anchored) must not append, mirror or
 * anchor: until the proof is made nothing is written, and once it fails appends are refused for good.
 */
export class AnchorProof {
  state: "unproven" | "proven" | { forked: string } = "unproven";
  private proving: Promise<Result<void>> | null = null;

  constructor(
    private readonly store: ChainStore,
    private readonly headSeq: () => number,
    private readonly verifiers: () => NoteVerifier[],
    private readonly now: () => number,
  ) {}

  get proven(): boolean {
    return this.state === "proven";
  }

  /** Why the chain was found forked, or null. */
  get forked(): string | null {
    return typeof this.state === "object" ? this.state.forked : null;
  }

  /** Prove (once per start, shared by concurrent callers) that this chain contains the latest anchor in `db`. */
  ensure(db: D1Database): Promise<Result<void>> {
    if (this.state === "proven") return Promise.resolve(ok(undefined));
    this.proving ??= (async (): Promise<Result<void>> => {
      if (typeof this.state === "object") return err(ErrorCode.integrityBroken, this.state.forked);
      let latest: AuditAnchor | null;
      try {
        latest = await latestAnchor(db);
      } catch (error) {
        return err(
          ErrorCode.auditUnavailable,
          `the chain cannot be proved against D1_ANCHOR (${(error as Error).message}): nothing is appended until it is`,
        );
      }
      return this.against(latest);
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
  against(anchor: AuditAnchor | null): Result<void> {
    if (typeof this.state === "object") return err(ErrorCode.integrityBroken, this.state.forked);
    if (!anchor) {
      this.state = "proven";
      return ok(undefined);
    }
    let why: string | null = null;
    const verifiers = this.verifiers();
    if (anchor.toSeq > this.headSeq())
      why = `head ${this.headSeq()} is below anchor ${anchor.anchorNo} toSeq ${anchor.toSeq}`;
    else if (this.store.hashAt(anchor.toSeq) !== anchor.headHash)
      why = `entry ${anchor.toSeq} does not hash to anchor ${anchor.anchorNo} headHash`;
    else if (hashAnchor(anchor) !== anchor.anchorHash) why = `anchor ${anchor.anchorNo} row was edited`;
    else if (verifiers.length > 0) {
      const refusal = checkpointRefusal(anchor, verifiers);
      if (refusal) why = `anchor ${anchor.anchorNo} ${refusal}`;
    }
    if (!why) {
      this.state = "proven";
      return ok(undefined);
    }
    const reason = `the chain does not contain the latest anchor: ${why} (sequencer state restored to an older one, or forked); appends and anchors are refused`;
    this.state = { forked: reason };
    recordBreak(this.store, {
      mode: "anchor proof",
      brokenSeq: Math.min(anchor.toSeq, this.headSeq() + 1),
      brokenAnchor: anchor.anchorNo,
      reason,
      verifiedAt: new Date(this.now()).toISOString(),
    });
    return err(ErrorCode.integrityBroken, reason);
  }
}

/** What anchoring needs of the chain: D1, the keys, the fork proof, the head now, and a mirror flush. */
export interface AnchorContext {
  db: D1Database;
  keys: AnchorKeys;
  proof: AnchorProof;
  headSeq: () => number;
  flush: () => Promise<MirrorProgress>;
}

/**
 * Anchor the mirrored head in D1 (the caller serialises). The anchor covers exactly the entries already in R2, so
 * its manifest hash binds the R2 copies too. Null when nothing new since the last anchor, or when this cron slot
 * was already anchored.
 */
export async function anchorMirroredHead(
  store: ChainStore,
  chain: AnchorContext,
  nowMs: number,
  cronSlot: number | undefined,
): Promise<Result<AuditAnchor | null>> {
  const { db, keys } = chain;
  try {
    if (cronSlot !== undefined) {
      const done = await db
        .prepare("SELECT 1 AS one FROM anchors WHERE cron_slot = ?")
        .bind(cronSlot)
        .first();
      if (done) return ok(null);
    }
    if (!keys.signer)
      return err(ErrorCode.serviceUnavailable, `anchors are signed, and cannot be: ${keys.error}`);
    // Never anchor on top of an anchor this chain does not contain: prove it first (this queue is the only
    // writer of anchors, so `previous` is still the latest when the new one is inserted).
    const previous = await latestAnchor(db);
    const proved = chain.proof.against(previous);
    if (!proved.ok) return proved;
    const target = chain.headSeq();
    let mirror = await chain.flush();
    if (mirror.mirroredTo < target && !mirror.error) mirror = await chain.flush();
    const toSeq = mirror.mirroredTo;
    if (toSeq === 0 || (previous && previous.toSeq === toSeq)) {
      return mirror.error && toSeq < target
        ? err(ErrorCode.serviceUnavailable, `R2 mirror behind: ${mirror.error}`)
        : ok(null);
    }
    const headHash = store.hashAt(toSeq);
    if (!headHash) return err(ErrorCode.integrityBroken, `entry ${toSeq} is unreadable; not anchoring`);
    const built = buildAnchor(
      previous,
      { seq: toSeq, hash: headHash },
      new Date(nowMs).toISOString(),
      manifestHash(store.batches(toSeq)),
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
