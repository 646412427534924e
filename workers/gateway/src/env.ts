import type {
  AuditService,
  ExecutionService,
  GovernanceService,
  IngestionService,
  RiskService,
} from "@paulp/contracts";

/** The gateway's own bindings: the five services it routes to, its one secret and the Access config. */
export interface Env {
  AUDIT: AuditService;
  GOVERNANCE: GovernanceService;
  RISK: RiskService;
  INGESTION: IngestionService;
  EXECUTION: ExecutionService;
  ADMIN_TOKEN?: string;
  /** e.g. `myteam.cloudflareaccess.com`; empty disables Access sign-in (bearer only). */
  ACCESS_TEAM_DOMAIN: string;
  /** The Access application's AUD tag. */
  ACCESS_AUD: string;
  /** Dev/test only: serves the Access JWKS in place of Cloudflare. */
  VENUE_SIM?: Fetcher;
}
