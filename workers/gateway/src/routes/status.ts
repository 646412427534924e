import { json } from "@paulp/kit";
import type { GatewayRouter } from "../router";
import { meshStatus } from "../status";

/** How long `/admin/status` waits for each service's health. */
export const HEALTH_TIMEOUT_MS = 3_000;

export function registerStatusRoutes(router: GatewayRouter): void {
  router.get("/admin/status", async (_request, env) => {
    const status = await meshStatus(
      {
        audit: env.AUDIT,
        governance: env.GOVERNANCE,
        risk: env.RISK,
        ingestion: env.INGESTION,
        execution: env.EXECUTION,
      },
      HEALTH_TIMEOUT_MS,
    );
    const body = { ...status, services: { gateway: { ok: true, latencyMs: 0 }, ...status.services } };
    return json(body, status.status === "ok" ? 200 : 503);
  });
}
