import type { D1Migration } from "cloudflare:test";
import type { Env as MonitorEnv } from "../src/env";

// Test-only bindings of the runner (see vitest.config.ts), on top of the worker's own.
declare global {
  namespace Cloudflare {
    interface Env extends MonitorEnv {
      MIGRATIONS_ANCHOR: D1Migration[];
      MIGRATIONS_GOVERNANCE: D1Migration[];
      MIGRATIONS_MARKETS: D1Migration[];
      TEST_D1_ANCHOR: D1Database;
      TEST_D1_GOVERNANCE: D1Database;
      TEST_D1_MARKETS: D1Database;
      VENUE_SIM: Fetcher;
    }
  }
}
