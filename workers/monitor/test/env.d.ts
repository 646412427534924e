import type { MeshDatabases } from "@paulp/testing/mesh-databases";
import type { Env as MonitorEnv } from "../src/env";

// Test-only bindings of the runner (see vitest.config.ts), on top of the worker's own.
declare global {
  namespace Cloudflare {
    interface Env extends MonitorEnv, MeshDatabases {
      VENUE_SIM: Fetcher;
    }
  }
}
