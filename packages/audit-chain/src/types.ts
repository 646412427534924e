// Relative imports keep this package free of the Workers-only parts of contracts and kit, so the offline
// verifier runs under plain Node and its code can be read in one place.
export type { AuditAnchor, AuditEntry, AuditMirrorBatch } from "../../contracts/src/audit";
export type { JsonValue } from "../../contracts/src/common";
export { CanonicalJsonError, canonicalJson, canonicalJsonValueEnd } from "../../kit/src/canonical-json";

/** A position in the chain: the last sequence number and its hash (seq 0 is the genesis). */
export interface ChainPoint {
  seq: number;
  hash: string;
}

/** Where and why verification failed. */
export interface ChainBreak {
  /** The first sequence number that cannot be trusted. */
  seq: number;
  reason: string;
  /** The anchor at fault, when the break is in an anchor row. */
  anchorNo?: number;
  /** 1-based line of an export file, when verifying one. */
  line?: number;
}
