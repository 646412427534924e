import type { AuditSequencer } from "./sequencer";

/** The audit worker's own bindings (and nothing else). */
export interface Env {
  AUDIT_SEQUENCER: DurableObjectNamespace<AuditSequencer>;
  D1_ANCHOR: D1Database;
  R2_AUDIT: R2Bucket;
}
