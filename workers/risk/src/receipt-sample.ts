import type { AuditReceipt } from "@paulp/contracts";

// Receipts of risk's own audit appends (its decisions), kept so the audit watch can ask the chain whether it
// still holds them: a rewrite of the chain with every hash recomputed, or a sequencer restored to an older state,
// cannot change what risk was told when the entry was written. Pure: the governor stores what this returns.

/** How many receipts are kept besides the newest. */
export const RECEIPT_SAMPLE_SIZE = 64;
/** Storage key prefix of the sample (`receipts:seen`, `receipts:latest`, `receipts:slot:<i>`). */
export const RECEIPT_PREFIX = "receipts:";

/** The newest receipt, and a uniform sample of every earlier one (reservoir sampling, Algorithm R). */
export interface ReceiptSample {
  seen: number;
  latest: AuditReceipt | null;
  slots: AuditReceipt[];
}

export function emptyReceiptSample(): ReceiptSample {
  return { seen: 0, latest: null, slots: [] };
}

/** The sample from its stored keys. */
export function receiptSampleFrom(stored: Map<string, unknown>): ReceiptSample {
  const sample = emptyReceiptSample();
  sample.seen = (stored.get(`${RECEIPT_PREFIX}seen`) as number | undefined) ?? 0;
  sample.latest = (stored.get(`${RECEIPT_PREFIX}latest`) as AuditReceipt | undefined) ?? null;
  for (let i = 0; i < RECEIPT_SAMPLE_SIZE; i++) {
    const r = stored.get(`${RECEIPT_PREFIX}slot:${i}`) as AuditReceipt | undefined;
    if (r) sample.slots[i] = r;
  }
  return sample;
}

/**
 * Keep `receipt`: always as the newest; in the sample with probability RECEIPT_SAMPLE_SIZE / receipts seen, so
 * every receipt ever offered is equally likely to be there. Answers the storage writes (a few small keys).
 */
export function offerReceipt(
  sample: ReceiptSample,
  receipt: AuditReceipt,
  random: () => number = Math.random,
): Record<string, unknown> {
  const r = { seq: receipt.seq, hash: receipt.hash };
  sample.seen++;
  sample.latest = r;
  const writes: Record<string, unknown> = {
    [`${RECEIPT_PREFIX}seen`]: sample.seen,
    [`${RECEIPT_PREFIX}latest`]: r,
  };
  const slot = sample.seen <= RECEIPT_SAMPLE_SIZE ? sample.seen - 1 : Math.floor(random() * sample.seen);
  if (slot < RECEIPT_SAMPLE_SIZE) {
    sample.slots[slot] = r;
    writes[`${RECEIPT_PREFIX}slot:${slot}`] = r;
  }
  return writes;
}

/** Every receipt kept, newest first, each once. */
export function receiptsToCheck(sample: ReceiptSample): AuditReceipt[] {
  const out = sample.latest ? [sample.latest] : [];
  for (const r of sample.slots) if (r && !out.some((o) => o.seq === r.seq)) out.push(r);
  return out;
}
