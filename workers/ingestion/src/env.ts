import type { AuditService, GovernanceService, RiskService } from "@paulp/contracts";
import type { ReadBudget } from "./read-budget";
import type { ReplayRun } from "./replay/run";

/** The ingestion worker's own bindings. */
export interface Env {
  D1_MARKETS: D1Database;
  R2_EVIDENCE: R2Bucket;
  /** Replay reports (`reports/<id>.json`, create-only). */
  R2_REPLAYS: R2Bucket;
  /** One object per replay run. */
  REPLAY_RUN: DurableObjectNamespace<ReplayRun>;
  /** The deployed build (the commit), named in every replay's manifest; "dev" when unset. */
  CODE_VERSION?: string;
  /** Sightings one replay step reads (default 200): each alarm replays at most this many. */
  REPLAY_STEP_SIGHTINGS?: string;
  AUDIT: AuditService;
  RISK: RiskService;
  GOVERNANCE: GovernanceService;
  /** Each venue's read budget for the whole account (one object per venue, src/read-budget.ts). */
  READ_BUDGET: DurableObjectNamespace<ReadBudget>;
  /**
   * Ingestion's own Kalshi API key, created with the `read` scope only (never execution's trading key): it
   * signs the reads Kalshi's spec marks authenticated, the order book. Unset: those reads go unsigned (and
   * Kalshi refuses them).
   */
  KALSHI_READ_API_KEY?: string;
  /** The private half of KALSHI_READ_API_KEY (PKCS#8 or PKCS#1 PEM). */
  KALSHI_READ_PRIVATE_KEY?: string;
  /**
   * Days of fetch log kept (src/fetch-log.ts; default 34): no shorter than the longest replay a go-live may cite
   * (31 days of evidence, cited up to 3 days after). A shorter value or not a number is not used (the default
   * applies, and the run logs why).
   */
  FETCH_LOG_RETENTION_DAYS?: string;
  /** Dev/test only. */
  VENUE_SIM?: Fetcher;
  /**
   * Dev only: `on` lets `recordHistory` record a past window from the simulator (src/history.ts). Set only in the
   * top-level (local dev) config; no deployed environment declares it, and it is refused without VENUE_SIM.
   */
  DEV_HISTORY?: string;
}
