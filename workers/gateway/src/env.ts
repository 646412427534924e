import type {
  AuditService,
  ExecutionService,
  GovernanceService,
  IngestionService,
  MonitorService,
  RiskService,
} from "@paulp/contracts";
import type { AdminAuditOutbox } from "./audit-outbox-object";

/** The gateway's own bindings: its admin audit outbox, the six services it routes to, its one secret, the Access config, the incident contacts, its rate limits. */
export interface Env {
  AUDIT: AuditService;
  GOVERNANCE: GovernanceService;
  RISK: RiskService;
  INGESTION: IngestionService;
  EXECUTION: ExecutionService;
  /** Alerts, alert email and metrics. */
  MONITOR: MonitorService;
  /** The admin request records' outbox (one instance): a record waits here until the audit chain has it. */
  ADMIN_AUDIT_OUTBOX: DurableObjectNamespace<AdminAuditOutbox>;
  ADMIN_TOKEN?: string;
  /** The go-live citation policy (#18): at least this many hours of evidence (default 168)... */
  REPLAY_MIN_SPAN_HOURS?: string;
  /** ...ending no more than this many hours ago (default 72)... */
  REPLAY_MAX_AGE_HOURS?: string;
  /** ...with no gap between consecutive sightings longer than this many minutes (default 15). */
  REPLAY_MAX_GAP_MINUTES?: string;
  /** e.g. `myteam.cloudflareaccess.com`; empty disables Access sign-in (bearer only). */
  ACCESS_TEAM_DOMAIN: string;
  /** The Access application's AUD tag. */
  ACCESS_AUD: string;
  /** Who to call in an incident (`IncidentContacts` in @paulp/contracts), per environment; the runbook names it. */
  INCIDENT_CONTACTS?: unknown;
  /** Failed admin authentications per client IP; past the limit they are answered 429. */
  AUTH_FAILURES?: RateLimit;
  /** Failed admin authentications over all clients together (a flood spread over many addresses). */
  AUTH_FAILURES_ALL?: RateLimit;
  /** One audit record a minute per rate-limited client. */
  AUTH_FAILURE_AUDIT?: RateLimit;
  /**
   * How long an admin route waits for a peer, in ms (answer.ts: PEER_TIMEOUT_MS, 15 s, when unset). Unset in every
   * deployed config; the tests shorten it so a peer that never answers is seen to time out without a 15 s wait.
   */
  ADMIN_PEER_TIMEOUT_MS?: string;
  /** Dev/test only: serves the Access JWKS in place of Cloudflare. */
  VENUE_SIM?: Fetcher;
}
