import type { D1Migration } from "cloudflare:test";
import type { Env as GatewayEnv } from "../src/env";

// Test-only bindings of the runner (see vitest.config.ts), on top of the gateway's own.
declare global {
  namespace Cloudflare {
    interface Env extends GatewayEnv {
      ADMIN_TOKEN: string;
      MIGRATIONS_ANCHOR: D1Migration[];
      MIGRATIONS_GOVERNANCE: D1Migration[];
      MIGRATIONS_MARKETS: D1Migration[];
      TEST_D1_ANCHOR: D1Database;
      TEST_D1_GOVERNANCE: D1Database;
      TEST_D1_MARKETS: D1Database;
      TEST_R2_EVIDENCE: R2Bucket;
      VENUE_SIM: Fetcher;
      TEST_AUDIT_SIGNING_KEY: string;
      TEST_AUDIT_VERIFIER_KEY: string;
      /** wrangler.jsonc's rate limits by binding name (test/rate-limiter.ts). */
      TEST_RATE_LIMITS: Record<string, { limit: number; period: number }>;
    }
  }
}
