import type { HealthReport } from "@paulp/contracts";
import { checkD1, requireConfig, runHealthChecks } from "@paulp/kit";
import { WorkerEntrypoint } from "cloudflare:workers";
import type { Env } from "./env";

export { ApprovalDesk } from "./approval-desk";

export class GovernanceEntrypoint extends WorkerEntrypoint<Env> {
  async health(): Promise<HealthReport> {
    return runHealthChecks("governance", {
      d1_governance: () => checkD1(this.env.D1_GOVERNANCE),
      approval_desk: async () => this.env.APPROVAL_DESK.get(this.env.APPROVAL_DESK.idFromName("desk")).ping(),
      config: requireConfig({ ANTHROPIC_MODEL: this.env.ANTHROPIC_MODEL }),
    });
  }
}

export default GovernanceEntrypoint;
