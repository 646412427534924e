import { ANCHOR_GENESIS_HASH, DOMAIN, domainHash } from "./hash";
import { type AuditAnchor, type AuditMirrorBatch, type ChainPoint, canonicalJson } from "./types";

/** An anchor row before its own hash is computed. */
export type UnsignedAnchor = Omit<AuditAnchor, "anchorHash">;

/** The hash of an anchor row: the next anchor's `prevAnchorHash`. */
export function hashAnchor(anchor: UnsignedAnchor): string {
  const { anchorNo, toSeq, headHash, prevAnchorHash, anchoredAt, r2ManifestHash } = anchor;
  return domainHash(
    DOMAIN.anchor,
    canonicalJson({ anchorNo, toSeq, headHash, prevAnchorHash, anchoredAt, r2ManifestHash }),
  );
}

/** The hash of the R2 manifest: every mirrored batch (key, range, object SHA-256) in order. */
export function manifestHash(batches: readonly AuditMirrorBatch[]): string {
  return domainHash(
    DOMAIN.manifest,
    canonicalJson(batches.map(({ key, fromSeq, toSeq, sha256 }) => ({ key, fromSeq, toSeq, sha256 }))),
  );
}

/** Why a proposed anchor must not be written; null when it may. */
export function anchorRefusal(previous: AuditAnchor | null, next: UnsignedAnchor): string | null {
  const expectedNo = (previous?.anchorNo ?? 0) + 1;
  if (next.anchorNo !== expectedNo) return `anchor number ${next.anchorNo} is not the next (${expectedNo})`;
  const expectedPrev = previous?.anchorHash ?? ANCHOR_GENESIS_HASH;
  if (next.prevAnchorHash !== expectedPrev) return "prevAnchorHash is not the latest anchor (fork)";
  if (previous && next.toSeq < previous.toSeq)
    return `toSeq ${next.toSeq} goes backwards from ${previous.toSeq}`;
  return null;
}

/** The anchor after `previous` for chain position `head`. Callers skip it when `head` is already anchored. */
export function buildAnchor(
  previous: AuditAnchor | null,
  head: ChainPoint,
  anchoredAt: string,
  r2ManifestHash: string,
): AuditAnchor {
  const unsigned: UnsignedAnchor = {
    anchorNo: (previous?.anchorNo ?? 0) + 1,
    toSeq: head.seq,
    headHash: head.hash,
    prevAnchorHash: previous?.anchorHash ?? ANCHOR_GENESIS_HASH,
    anchoredAt,
    r2ManifestHash,
  };
  return { ...unsigned, anchorHash: hashAnchor(unsigned) };
}

/** R2 key of the batch holding entries `fromSeq..toSeq` (zero-padded so keys list in order). */
export function batchKey(fromSeq: number, toSeq: number): string {
  return `entries/${String(fromSeq).padStart(12, "0")}-${String(toSeq).padStart(12, "0")}.ndjson`;
}

const encoder = new TextEncoder();

/** The bytes of a batch object: one stored entry line per entry, each ending in a newline. */
export function batchBytes(lines: readonly string[]): Uint8Array {
  return encoder.encode(lines.map((l) => `${l}\n`).join(""));
}
