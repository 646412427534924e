import { buildEntry, type ChainPoint, entryLine, GENESIS_POINT } from "@paulp/audit-chain";
import { type AuditEventInput, type AuditReceipt, ErrorCode, err, ok, type Result } from "@paulp/contracts";
import { CanonicalJsonError } from "@paulp/kit";
import type { ChainStore, KeyedEntry } from "./chain-store";
import { KeyPruner } from "./idempotency-keys";

interface PendingAppend {
  events: AuditEventInput[];
  /** The caller's key for this append (one event): recorded at most once. */
  idempotencyKey?: string;
  resolve: (result: Result<AuditReceipt[]>) => void;
}

/**
 * The chain's head and its appends. Calls that arrive together are group-committed: one synchronous write (head
 * read to last row) and one durable commit for all of them, so concurrent appends can neither fork nor skip.
 * The clock is passed in (entry times never go backwards, even if it does); `committed` is called after each
 * durable write (the sequencer schedules the R2 mirror). Expired idempotency keys are pruned in small batches
 * after the groups that write keys (see idempotency-keys.ts).
 */
export class ChainAppender {
  /** The last committed entry. */
  head: ChainPoint = GENESIS_POINT;
  /** Set when the stored head cannot be read: appends are refused (fail closed). */
  headError: string | null = null;
  /** The time of the last committed group: entry times never go backwards, even if the clock does. */
  lastTs = 0;
  private pending: PendingAppend[] = [];
  private commitScheduled = false;
  private readonly keyPruner: KeyPruner;

  constructor(
    private readonly store: ChainStore,
    private readonly now: () => number,
    private readonly committed: () => void,
  ) {
    this.keyPruner = new KeyPruner(store);
    this.loadHead();
  }

  /**
   * Queue events for the next group commit; the answer comes once they are written (or refused). With an
   * idempotency key, an append the chain already recorded answers its receipts and writes nothing.
   */
  enqueue(events: AuditEventInput[], idempotencyKey?: string): Promise<Result<AuditReceipt[]>> {
    return new Promise((resolve) => {
      this.pending.push({ events, resolve, ...(idempotencyKey ? { idempotencyKey } : {}) });
      if (!this.commitScheduled) {
        this.commitScheduled = true;
        // One macrotask later: the requests already queued at the input gate join this group.
        setTimeout(() => this.commitPending(), 0);
      }
    });
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
    const ts = new Date(Math.max(this.now(), this.lastTs)).toISOString();
    let head = this.head;
    const planned: { call: PendingAppend; lines: [number, string][]; receipts: AuditReceipt[] }[] = [];
    // Calls whose key another call of this group carries: answered with that call's outcome.
    const repeats: PendingAppend[] = [];
    const keysPlanned = new Set<string>();
    for (const call of group) {
      const key = call.idempotencyKey;
      if (key !== undefined) {
        const recorded = this.store.keyedEntry(key);
        if (recorded !== undefined) {
          call.resolve(this.recordedReceipt(recorded, call));
          continue;
        }
        if (keysPlanned.has(key)) {
          repeats.push(call);
          continue;
        }
      }
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
        if (key !== undefined) keysPlanned.add(key);
      } catch (error) {
        const message =
          error instanceof CanonicalJsonError ? `payload: ${error.message}` : "event could not be hashed";
        call.resolve(err(ErrorCode.validationFailed, message));
      }
    }
    // (A repeat exists only beside the planned call that carries its key.)
    if (planned.length === 0) return;
    const keys = planned.flatMap((p) =>
      p.call.idempotencyKey !== undefined
        ? [
            {
              key: p.call.idempotencyKey,
              seq: p.receipts[0]!.seq,
              type: p.call.events[0]!.type,
              service: p.call.events[0]!.service,
              recordedAt: Date.parse(ts),
            },
          ]
        : [],
    );
    try {
      // Synchronous from the head read above to the last row: nothing else runs in between.
      this.store.insertEntries(
        planned.flatMap((p) => p.lines),
        keys,
      );
    } catch {
      if (planned.length > 1 || repeats.length > 0) {
        // One at a time, in order: a repeat then finds its key written by the call before it.
        for (const c of [...planned.map((p) => p.call), ...repeats]) this.commitGroup([c]);
        return;
      }
      planned[0]!.call.resolve(err(ErrorCode.auditUnavailable, "append could not be written"));
      return;
    }
    this.head = head;
    this.lastTs = Date.parse(ts);
    // Answers leave only once the write is durable (the output gate holds them until the commit).
    for (const p of planned) p.call.resolve(ok(p.receipts));
    for (const r of repeats) r.resolve(this.recordedReceipt(this.store.keyedEntry(r.idempotencyKey!)!, r));
    if (keys.length > 0) this.keyPruner.written(keys.length, Date.parse(ts));

    this.committed();
  }

  /**
   * The receipt of the entry an earlier append with the call's key recorded. A key recorded for an event of another
   * type or service is a conflict (two callers sharing a key, or a bug): refused, not answered with a stranger's
   * receipt.
   */
  private recordedReceipt(recorded: KeyedEntry, call: PendingAppend): Result<AuditReceipt[]> {
    const event = call.events[0]!;
    if (call.events.length !== 1 || recorded.type !== event.type || recorded.service !== event.service)
      return err(
        ErrorCode.conflict,
        `idempotency key ${recorded.key} was recorded for another event (${recorded.type} from ${recorded.service}, seq ${recorded.seq})`,
      );
    const hash = this.store.hashAt(recorded.seq);
    return hash
      ? ok([{ seq: recorded.seq, hash }])
      : err(
          ErrorCode.integrityBroken,
          `entry ${recorded.seq} recorded for idempotency key ${recorded.key} is unreadable`,
        );
  }
}
