import type { AuditService, GovernanceService } from "@paulp/contracts";
import type { CircuitBreaker } from "./circuit-breaker";
import type { RiskGovernor } from "./risk-governor";

/** The risk worker's own bindings. */
export interface Env {
  RISK_GOVERNOR: DurableObjectNamespace<RiskGovernor>;
  CIRCUIT_BREAKER: DurableObjectNamespace<CircuitBreaker>;
  AUDIT: AuditService;
  GOVERNANCE: GovernanceService;
}
