// Through the packages' exports only: contracts' audit types (erased at run time) and kit's canonical JSON alone
// (its own subpath), so the offline verifier stays free of the Workers-only parts and runs under plain Node.
export type { AuditAnchor, AuditEntry, AuditMirrorBatch } from "@paulp/contracts/audit";
export type { JsonValue } from "@paulp/contracts/common";
export { CanonicalJsonError, canonicalJson, canonicalJsonValueEnd } from "@paulp/kit/canonical-json";

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
