import type { AuditService, GovernanceService, IngestionService, RiskService } from "@paulp/contracts";
import type { OrderManager } from "./order-manager";

/** The execution worker's own bindings. */
export interface Env {
  ORDER_MANAGER: DurableObjectNamespace<OrderManager>;
  AUDIT: AuditService;
  RISK: RiskService;
  INGESTION: IngestionService;
  GOVERNANCE: GovernanceService;
  /** Kalshi API key id. */
  KALSHI_API_KEY?: string;
  /** Kalshi RSA private key, PKCS#8 or PKCS#1 PEM. */
  KALSHI_PRIVATE_KEY?: string;
  /** Only for logging the self-hosted Client Portal Gateway in (see docs/venues-trading.md); never sent by this worker. */
  IBKR_USERNAME?: string;
  IBKR_PASSWORD?: string;
  /** e.g. https://ibkr-gw.example.com (a Cloudflare Tunnel to the gateway); empty disables IBKR. */
  IBKR_GATEWAY_URL: string;
  IBKR_ACCOUNT_ID: string;
  /** Comma-separated IBKR question message ids execution may confirm (default o354,o163). */
  IBKR_CONFIRMABLE_MESSAGE_IDS?: string;
  /** Milliseconds before a venue call counts as timed out (then a write's outcome is unknown). */
  VENUE_TIMEOUT_MS?: string;
  /** Contracts of drift tolerated per market before the breaker hears of it. */
  RECON_TOLERANCE?: string;
  /** JSON hedge map, see src/hedge.ts. */
  HEDGE_MAP?: string;
  /** Dev/test only. */
  VENUE_SIM?: Fetcher;
}
