import { WorkerEntrypoint } from "cloudflare:workers";
import type { HealthReport } from "@paulp/contracts";
import { checkD1, checkR2, runHealthChecks } from "@paulp/kit";
import type { Env } from "./env";

export class IngestionEntrypoint extends WorkerEntrypoint<Env> {
  async health(): Promise<HealthReport> {
    return runHealthChecks("ingestion", {
      d1_markets: () => checkD1(this.env.D1_MARKETS),
      r2_evidence: () => checkR2(this.env.R2_EVIDENCE),
    });
  }
}

export default IngestionEntrypoint;
