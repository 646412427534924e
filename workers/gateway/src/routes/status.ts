import { type AuditStatus, type HealthCheck, ok } from "@paulp/contracts";
import { json, rpc } from "@paulp/kit";
import { type OutboxStats, outboxCheck } from "../audit-outbox";
import { OUTBOX_NAME } from "../audit-outbox-object";
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

/** The admin audit outbox's figures and its health check (failing when it cannot be read). */
async function outboxHealth(
  env: Env,
  timeoutMs: number,
): Promise<{ check: HealthCheck; stats: OutboxStats | { error: string } }> {
  const outbox = env.ADMIN_AUDIT_OUTBOX.get(env.ADMIN_AUDIT_OUTBOX.idFromName(OUTBOX_NAME));
  const r = await rpc(async () => ok(await outbox.stats()), { what: "admin audit outbox", timeoutMs });
  if (!r.ok) {
    const error = `${r.error.code}: ${r.error.message}`;
    return {
      check: { name: "admin_audit_outbox", ok: false, detail: `unreadable (${error})` },
      stats: { error },
    };
  }
  return { check: outboxCheck(r.value), stats: r.value };
}

/** How long `/admin/status` waits for each service's health. */
export const HEALTH_TIMEOUT_MS = 3_000;

export function registerStatusRoutes(router: GatewayRouter): void {
  router.get("/admin/status", async (request, env) => {
    const [status, config, audit, outbox] = await Promise.all([
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
      outboxHealth(env, HEALTH_TIMEOUT_MS),
    ]);
    // The gateway's own health is its configuration: ADMIN_TOKEN strength (a refused token closes the admin routes
    // to all but a person signed in through Access, who then learns why here), Cloudflare Access with its keys
    // reachable, and the incident contacts. Never the token itself. And its admin audit outbox: records waiting
    // too long for the chain, or dropped, fail it.
    const checks = [...config.checks, outbox.check];
    const failed = checks.filter((c) => !c.ok);
    const gatewayOk = failed.length === 0;
    const gateway = {
      ok: gatewayOk,
      latencyMs: 0,
      checks,
      ...(failed.length > 0 ? { error: failed.map((c) => `${c.name}: ${c.detail}`).join("; ") } : {}),
    };
    const failing = gatewayOk ? status.failing : ["gateway", ...status.failing];
    const body = {
      ...status,
      status: failing.length === 0 ? "ok" : "degraded",
      failing,
      services: { gateway, ...status.services },
      audit,
      adminAuditOutbox: outbox.stats,
    };
    return json(body, failing.length === 0 ? 200 : 503);
  });
}
