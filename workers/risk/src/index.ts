import type { HealthReport } from "@paulp/contracts";
import { runHealthChecks } from "@paulp/kit";
import { WorkerEntrypoint } from "cloudflare:workers";
import type { Env } from "./env";

export { CircuitBreaker } from "./circuit-breaker";
export { RiskGovernor } from "./risk-governor";

export class RiskEntrypoint extends WorkerEntrypoint<Env> {
  async health(): Promise<HealthReport> {
    return runHealthChecks("risk", {
      risk_governor: async () => this.env.RISK_GOVERNOR.get(this.env.RISK_GOVERNOR.idFromName("portfolio")).ping(),
      circuit_breaker: async () =>
        this.env.CIRCUIT_BREAKER.get(this.env.CIRCUIT_BREAKER.idFromName("breaker")).ping(),
    });
  }
}

export default RiskEntrypoint;
