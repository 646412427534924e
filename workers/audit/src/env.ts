import type { AuditSequencer } from "./sequencer";

/** The audit worker's own bindings (and nothing else). */
export interface Env {
  AUDIT_SEQUENCER: DurableObjectNamespace<AuditSequencer>;
  D1_ANCHOR: D1Database;
  R2_AUDIT: R2Bucket;
  /**
   * Secret: the Ed25519 key that signs anchors (`PRIVATE+KEY+<name>+<key ID>+<base64>`, see
   * scripts/audit-keygen.mjs). Held by this worker only; without it no anchor is made and signatures cannot be
   * checked (fail closed).
   */
  AUDIT_SIGNING_KEY?: string;
  /** Public verifier keys of earlier signing keys (comma-separated), still accepted for the anchors they signed. */
  AUDIT_RETIRED_VERIFIER_KEYS?: string;
}
