import type {
  AuditAnchor,
  AuditReceipt,
  AuditReceiptBreak,
  AuditReceiptCheck,
  AuditVerification,
} from "@paulp/contracts";
import type { ChainStore } from "./chain-store";

// The chain's integrity state, kept in the store's meta: "integrity" (ok | broken), the break that set it
// ("last_failure"), how many breaks were recorded ("failure_epoch"), the last answers and the anchor verified.

/** How an incremental answer starts while a break found earlier has not been cleared by a full verification. */
export const STILL_BROKEN = "integrity is broken since an earlier verification";

/** The break that set `integrity` to broken, kept for every later answer until a full verification passes. */
export interface LastFailure {
  /** What found it: a verification, the proof against the latest anchor, or a receipt check. */
  mode: "full" | "incremental" | "anchor proof" | "receipt check";
  brokenSeq: number | null;
  brokenAnchor?: number;
  reason: string;
  verifiedAt: string;
}

/** The anchor a run verified up to: where the next incremental run starts. */
export interface VerifiedAnchorMeta {
  anchorNo: number;
  anchorHash: string;
}

/** Keep a verification's answer and what it implies for the integrity state and the next incremental start. */
export function recordVerification(
  store: ChainStore,
  result: AuditVerification,
  lastAnchor: AuditAnchor | null,
): void {
  store.setMeta("last_verification", result);
  // A full verification that reached its verdict (the head, or a break): its age is shown and alerted on.
  if (result.mode === "full") store.setMeta("last_full_verification", result);
  // Unchanged values are not rewritten.
  const integrity = store.getMeta<string>("integrity");
  if (!result.ok) {
    if (integrity !== "broken") store.setMeta("integrity", "broken");
    if (!result.reason?.startsWith(STILL_BROKEN))
      recordBreak(store, {
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
    store.setMeta("integrity", "ok");
  if (lastAnchor && lastAnchor.toSeq <= result.toSeq) {
    const verified = store.getMeta<VerifiedAnchorMeta>("verified_anchor");
    if (verified?.anchorNo !== lastAnchor.anchorNo || verified.anchorHash !== lastAnchor.anchorHash)
      store.setMeta<VerifiedAnchorMeta>("verified_anchor", {
        anchorNo: lastAnchor.anchorNo,
        anchorHash: lastAnchor.anchorHash,
      });
  }
}

/**
 * Record a break (integrity broken until a full verification that starts after it passes): every later
 * incremental answer names it, and a stepped full verification in progress is void.
 */
export function recordBreak(store: ChainStore, failure: LastFailure): void {
  if (store.getMeta<string>("integrity") !== "broken") store.setMeta("integrity", "broken");
  store.setMeta("failure_epoch", (store.getMeta<number>("failure_epoch") ?? 0) + 1);
  store.setMeta<LastFailure>("last_failure", failure);
}

/**
 * Whether the chain still holds each receipt a caller kept: entry `seq` present with hash `hash`. A receipt
 * above the head (entries gone: truncated or restored) or with another hash (rewritten) is a break.
 */
export function checkReceipts(
  store: ChainStore,
  head: number,
  receipts: readonly AuditReceipt[],
  nowMs: number,
): AuditReceiptCheck {
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
    const stored = store.hashAt(seq);
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
    recordBreak(store, {
      mode: "receipt check",
      brokenSeq: Math.min(first.seq, head + 1),
      reason: `receipt check: ${first.detail}${broken.length > 1 ? ` (and ${broken.length - 1} more)` : ""}`,
      verifiedAt: checkedAt,
    });
  }
  return {
    ok: broken.length === 0,
    headSeq: head,
    checked: receipts.length,
    held: receipts.length - broken.length,
    broken,
    checkedAt,
  };
}
