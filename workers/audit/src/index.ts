import { WorkerEntrypoint } from "cloudflare:workers";
import type { AuditRpc, HealthReport } from "@paulp/contracts";
import { checkD1, checkR2, runHealthChecks } from "@paulp/kit";
import type { Env } from "./env";

export { AuditSequencer } from "./sequencer";

export class AuditEntrypoint extends WorkerEntrypoint<Env> implements Pick<AuditRpc, "health"> {
  async health(): Promise<HealthReport> {
    return runHealthChecks("audit", {
      d1_anchor: () => checkD1(this.env.D1_ANCHOR),
      r2_audit: () => checkR2(this.env.R2_AUDIT),
      sequencer: async () =>
        this.env.AUDIT_SEQUENCER.get(this.env.AUDIT_SEQUENCER.idFromName("chain")).ping(),
    });
  }
}

export default AuditEntrypoint;
