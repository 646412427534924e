import { json } from "@paulp/kit";
import { adminTokenProblem } from "../auth/admin-token";
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
    // The gateway's own health: a refused ADMIN_TOKEN (only a person signed in through Access gets here then)
    // is named, so the operators learn why the admin routes are closed.
    const tokenProblem = await adminTokenProblem(env.ADMIN_TOKEN);
    const gateway = tokenProblem
      ? { ok: false, latencyMs: 0, error: tokenProblem }
      : { ok: true, latencyMs: 0 };
    const failing = tokenProblem ? ["gateway", ...status.failing] : status.failing;
    const body = {
      ...status,
      status: failing.length === 0 ? "ok" : "degraded",
      failing,
      services: { gateway, ...status.services },
    };
    return json(body, failing.length === 0 ? 200 : 503);
  });
}
