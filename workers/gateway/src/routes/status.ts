import type { AuditStatus } from "@paulp/contracts";
import { json, rpc } from "@paulp/kit";
import { gatewayConfigHealth } from "../config-health";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";
import { meshStatus } from "../status";

/** The audit chain at a glance: integrity, the ages operators must watch, and what it raises. */
export type AuditSummary =
  | Pick<
      AuditStatus,
      | "integrity"
      | "headSeq"
      | "lastAnchorAgeSeconds"
      | "oldestUnanchoredAgeSeconds"
      | "lastFullVerificationAgeSeconds"
      | "alerts"
    >
  | { error: string };

async function auditSummary(env: Env, timeoutMs: number): Promise<AuditSummary> {
  const r = await rpc(env.AUDIT, (audit) => audit.status(), { what: "audit status", timeoutMs });
  if (!r.ok) return { error: `${r.error.code}: ${r.error.message}` };
  const s = r.value;
  return {
    integrity: s.integrity,
    headSeq: s.headSeq,
    lastAnchorAgeSeconds: s.lastAnchorAgeSeconds,
    oldestUnanchoredAgeSeconds: s.oldestUnanchoredAgeSeconds,
    lastFullVerificationAgeSeconds: s.lastFullVerificationAgeSeconds,
    alerts: s.alerts,
  };
}

/** How long `/admin/status` waits for each service's health. */
export const HEALTH_TIMEOUT_MS = 3_000;

export function registerStatusRoutes(router: GatewayRouter): void {
  router.get("/admin/status", async (request, env) => {
    const [status, config, audit] = await Promise.all([
      meshStatus(
        {
          audit: env.AUDIT,
          governance: env.GOVERNANCE,
          risk: env.RISK,
          ingestion: env.INGESTION,
          execution: env.EXECUTION,
          monitor: env.MONITOR,
        },
        HEALTH_TIMEOUT_MS,
      ),
      gatewayConfigHealth(request, env),
      auditSummary(env, HEALTH_TIMEOUT_MS),
    ]);
    // The gateway's own health is its configuration: ADMIN_TOKEN strength (a refused token closes the admin routes
    // to all but a person signed in through Access, who then learns why here), Cloudflare Access with its keys
    // reachable, and the incident contacts. Never the token itself.
    const failed = config.checks.filter((c) => !c.ok);
    const gateway = {
      ok: config.ok,
      latencyMs: 0,
      checks: config.checks,
      ...(failed.length > 0 ? { error: failed.map((c) => `${c.name}: ${c.detail}`).join("; ") } : {}),
    };
    const failing = config.ok ? status.failing : ["gateway", ...status.failing];
    const body = {
      ...status,
      status: failing.length === 0 ? "ok" : "degraded",
      failing,
      services: { gateway, ...status.services },
      audit,
    };
    return json(body, failing.length === 0 ? 200 : 503);
  });
}
