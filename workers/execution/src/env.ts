import type { AuditService, GovernanceService, IngestionService, RiskService } from "@paulp/contracts";
import type { OrderManager } from "./order-manager";

/** The execution worker's own bindings. */
export interface Env {
  ORDER_MANAGER: DurableObjectNamespace<OrderManager>;
  AUDIT: AuditService;
  RISK: RiskService;
  INGESTION: IngestionService;
  GOVERNANCE: GovernanceService;
  KALSHI_API_KEY?: string;
  KALSHI_PRIVATE_KEY?: string;
  IBKR_USERNAME?: string;
  IBKR_PASSWORD?: string;
  IBKR_GATEWAY_URL: string;
  IBKR_ACCOUNT_ID: string;
  /** Dev/test only. */
  VENUE_SIM?: Fetcher;
}
