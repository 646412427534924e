import type { AuditService, GovernanceService, IngestionService, RiskService } from "@paulp/contracts";
import type { MarkRefresher } from "./fast/refresher";
import type { OrderManager } from "./order-manager";

/** The execution worker's own bindings. */
export interface Env {
  ORDER_MANAGER: DurableObjectNamespace<OrderManager>;
  /** The fast path that keeps traded markets' marks fresh. */
  MARK_REFRESHER: DurableObjectNamespace<MarkRefresher>;
  AUDIT: AuditService;
  RISK: RiskService;
  INGESTION: IngestionService;
  GOVERNANCE: GovernanceService;
  /** Kalshi API key id. */
  KALSHI_API_KEY?: string;
  /** Kalshi RSA private key, PKCS#8 or PKCS#1 PEM. */
  KALSHI_PRIVATE_KEY?: string;
  /** e.g. https://ibkr-gw.example.com (a Cloudflare Tunnel to the gateway); empty disables IBKR. */
  IBKR_GATEWAY_URL: string;
  IBKR_ACCOUNT_ID: string;
  /**
   * Cloudflare Access service token of the gateway's hostname, sent as CF-Access-Client-Id / -Secret on every
   * gateway request (secrets; required in staging and production, unset in dev where no Access is in front).
   */
  IBKR_ACCESS_CLIENT_ID?: string;
  IBKR_ACCESS_CLIENT_SECRET?: string;
  /** `|`-separated phrases of IBKR question text execution may confirm (default: src/venues/ibkr.ts). */
  IBKR_CONFIRMABLE_QUESTIONS?: string;
  /** Milliseconds before a venue call counts as timed out (then a write's outcome is unknown). */
  VENUE_TIMEOUT_MS?: string;
  /** Contracts of drift tolerated per market before the breaker hears of it. */
  RECON_TOLERANCE?: string;
  /** JSON hedge map, see src/hedge.ts. */
  HEDGE_MAP?: string;
  /** The fast path's alarm cadence in ms (default 5,000; tests set an hour and run the alarm themselves). */
  FAST_PATH_ALARM_MS?: string;
  /**
   * Tests only: the outbox alarm's push delay and retry period in ms (default 200 and 5,000). The tests set an
   * hour and run the alarm themselves (`runDurableObjectAlarm`), so no push races their reads.
   */
  OUTBOX_ALARM_MS?: string;
  /** Dev/test only. */
  VENUE_SIM?: Fetcher;
}
