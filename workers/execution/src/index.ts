import { WorkerEntrypoint } from "cloudflare:workers";
import type { HealthReport } from "@paulp/contracts";
import { runHealthChecks } from "@paulp/kit";
import type { Env } from "./env";

export { OrderManager } from "./order-manager";

export class ExecutionEntrypoint extends WorkerEntrypoint<Env> {
  async health(): Promise<HealthReport> {
    return runHealthChecks("execution", {
      order_manager: async () =>
        this.env.ORDER_MANAGER.get(this.env.ORDER_MANAGER.idFromName("orders")).ping(),
    });
  }
}

export default ExecutionEntrypoint;
