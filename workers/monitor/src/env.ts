import type { AuditService, ExecutionService, IngestionService, RiskService } from "@paulp/contracts";
import type { AlertDesk } from "./alert-desk";

/** The monitor's own bindings: the four services it reads, its Durable Object and the platform's email. */
export interface Env {
  ALERT_DESK: DurableObjectNamespace<AlertDesk>;
  AUDIT: AuditService;
  RISK: RiskService;
  INGESTION: IngestionService;
  EXECUTION: ExecutionService;
  /** Cloudflare Email Workers' `send_email` binding (staging, production): only verified destinations. */
  ALERT_EMAIL?: SendEmail;
  /** `email`: send through ALERT_EMAIL; `local` (dev, tests): keep what would be sent in the outbox only. */
  ALERT_DELIVERY: string;
  /** The sender address, on a domain onboarded to Cloudflare Email. */
  ALERT_FROM: string;
  /** Comma-separated first recipients, used until the first recipient change (then the stored list rules). */
  ALERT_RECIPIENTS?: string;
  /** `dev`, `staging` or `production`: named in every email's subject. */
  ENVIRONMENT: string;
  /** JSON overrides of the rule thresholds (see src/rule-config.ts DEFAULT_RULES). */
  ALERT_RULES?: string;
}
