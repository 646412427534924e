import type { MeshDatabases } from "@paulp/testing/mesh-databases";
import type { Env as GatewayEnv } from "../src/env";

// Test-only bindings of the runner (see vitest.config.ts), on top of the gateway's own.
declare global {
  namespace Cloudflare {
    interface Env extends GatewayEnv, MeshDatabases {
      ADMIN_TOKEN: string;
      TEST_R2_EVIDENCE: R2Bucket;
      VENUE_SIM: Fetcher;
      TEST_AUDIT_SIGNING_KEY: string;
      TEST_AUDIT_VERIFIER_KEY: string;
      /** wrangler.jsonc's rate limits by binding name (test/rate-limiter.ts). */
      TEST_RATE_LIMITS: Record<string, { limit: number; period: number }>;
    }
  }
}
