import type { D1Migration } from "cloudflare:test";
import type { AuditSequencer } from "../src/sequencer";

// The worker's bindings plus the runner's test-only ones (see vitest.config.ts).
declare global {
  namespace Cloudflare {
    interface Env {
      AUDIT_SEQUENCER: DurableObjectNamespace<AuditSequencer>;
      D1_ANCHOR: D1Database;
      R2_AUDIT: R2Bucket;
      TEST_MIGRATIONS: D1Migration[];
      AUDIT_SIGNING_KEY: string;
      TEST_AUDIT_VERIFIER_KEY: string;
    }
  }
}
