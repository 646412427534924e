import type { D1Migration } from "cloudflare:test";
import type { AuditService } from "@paulp/contracts";
import type { ApprovalDesk } from "../src/approval-desk";

// The runner's bindings (see vitest.config.ts): the worker's own, spelled out because extending
// src/env's Env here is circular through ApprovalDesk, plus the test-only ones.
declare global {
  namespace Cloudflare {
    interface Env {
      APPROVAL_DESK: DurableObjectNamespace<ApprovalDesk>;
      D1_GOVERNANCE: D1Database;
      AUDIT: AuditService;
      ANTHROPIC_API_KEY: string;
      ANTHROPIC_MODEL: string;
      APPROVAL_TTL_SECONDS: string;
      EXECUTE_WINDOW_SECONDS: string;
      VENUE_SIM: Fetcher;
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
