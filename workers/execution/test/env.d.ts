import type { Env as ExecutionEnv } from "../src/env";

// Test-only bindings of the runner (see vitest.config.ts), on top of the worker's own.
declare global {
  namespace Cloudflare {
    interface Env extends ExecutionEnv {
      TEST_KALSHI_PUBLIC_KEY: string;
      VENUE_SIM: Fetcher;
    }
  }
}
