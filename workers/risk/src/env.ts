import type { AuditService, GovernanceService } from "@paulp/contracts";
import type { CircuitBreaker } from "./circuit-breaker";
import type { RiskGovernor } from "./risk-governor";

/** The risk worker's own bindings. */
export interface Env {
  RISK_GOVERNOR: DurableObjectNamespace<RiskGovernor>;
  CIRCUIT_BREAKER: DurableObjectNamespace<CircuitBreaker>;
  AUDIT: AuditService;
  GOVERNANCE: GovernanceService;
  /**
   * Equity (dollars) a brand-new portfolio starts with, e.g. "100000.00" for paper trading in dev.
   * Unset or malformed: no equity figure, so every opening order is denied `NO_EQUITY` (fail closed).
   */
  STARTING_EQUITY?: string;
  /** Optional JSON `{ "<failure kind>": { "caution": n, "halt": m } }` overriding the breaker's thresholds. */
  BREAKER_THRESHOLDS?: string;
}
