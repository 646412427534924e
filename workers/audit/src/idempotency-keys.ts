import type { ChainStore } from "./chain-store";

const DAY_MS = 24 * 60 * 60_000;

/**
 * How long an idempotency key is kept after its entry. A key only has to outlive the last retry of its record,
 * and the one keyed caller (the gateway's admin audit outbox) retries every ≤ 5 minutes while the chain answers;
 * but a record whose first append was written and whose answer was lost waits in the outbox for as long as the
 * chain is down, then is retried. 30 days outlasts any outage the outbox rides out (its health fails after
 * 5 minutes of waiting, and it drops records past 10,000), while bounding the table to a month of admin requests
 * instead of every one ever made.
 */
export const KEY_RETENTION_MS = 30 * DAY_MS;
/** Expired keys are pruned once per this many keyed appends… */
export const KEY_PRUNE_EVERY = 64;
/** …at most this many at a time: twice the keys written since, so a backlog drains and no prune is large. */
export const KEY_PRUNE_BATCH = 2 * KEY_PRUNE_EVERY;

/**
 * Prunes expired idempotency keys in small batches as keyed appends are written (called by the appender after
 * each committed group, in the sequencer's serialised turn). A key past its retention but not yet pruned still
 * answers its receipt: pruning late only keeps a row longer.
 */
export class KeyPruner {
  private keyedSincePrune = 0;

  constructor(private readonly store: Pick<ChainStore, "deleteKeysRecordedBefore">) {}

  /** `count` keys were just written at `nowMs`: prune a batch once KEY_PRUNE_EVERY have been. Returns how many. */
  written(count: number, nowMs: number): number {
    this.keyedSincePrune += count;
    if (this.keyedSincePrune < KEY_PRUNE_EVERY) return 0;
    this.keyedSincePrune = 0;
    try {
      return this.store.deleteKeysRecordedBefore(nowMs - KEY_RETENTION_MS, KEY_PRUNE_BATCH);
    } catch (error) {
      // The appends are written; an expired key left behind only waits for the next prune.
      console.error(
        `idempotency key prune failed (retried after ${KEY_PRUNE_EVERY} keyed appends): ${String(error)}`,
      );
      return 0;
    }
  }
}
