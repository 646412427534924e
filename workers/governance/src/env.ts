import type { AuditService } from "@paulp/contracts";
import type { ApprovalDesk } from "./approval-desk";

/** The governance worker's own bindings. */
export interface Env {
  APPROVAL_DESK: DurableObjectNamespace<ApprovalDesk>;
  D1_GOVERNANCE: D1Database;
  AUDIT: AuditService;
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_MODEL: string;
  APPROVAL_TTL_SECONDS: string;
  EXECUTE_WINDOW_SECONDS: string;
  /**
   * The first approver roster of each action (JSON object: action or `*` → email addresses; a string is
   * parsed). Read once per action, when it is first used; afterwards only a two-person roster change alters it.
   */
  APPROVER_ROSTER?: unknown;
  /** Optional: milliseconds to wait for one Messages API answer (default 30000). */
  ANTHROPIC_TIMEOUT_MS?: string;
  /** Optional: requests per assessment, 429 / 529 retries included (default 3). */
  ANTHROPIC_MAX_ATTEMPTS?: string;
  /** Optional: the most the retries of one assessment may wait in total, in milliseconds (default 20000). */
  ANTHROPIC_RETRY_BUDGET_MS?: string;
  /** Dev/test only. */
  VENUE_SIM?: Fetcher;
}
