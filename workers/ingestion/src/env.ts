import type { AuditService, GovernanceService, RiskService } from "@paulp/contracts";

/** The ingestion worker's own bindings. */
export interface Env {
  D1_MARKETS: D1Database;
  R2_EVIDENCE: R2Bucket;
  AUDIT: AuditService;
  RISK: RiskService;
  GOVERNANCE: GovernanceService;
  /** Dev/test only. */
  VENUE_SIM?: Fetcher;
}
