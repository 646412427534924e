import { BreakerTransitionRequest, CapitalChange, OrderIntent, RiskLimits } from "@paulp/contracts";
import { bodyCall, bodyMethod, methodRoute, settingRoutes } from "../answer";
import type { GatewayRouter } from "../router";

/**
 * Admin routes of the risk worker. The breaker transition body is the specification's emergency
 * procedure, `{ "targetState": "HALT", "reason": "…" }`, read as JSON whatever the content-type (the
 * documented curl sends none). RECOVERY → NORMAL and raising limits answer 403 `approval_required` with
 * the action and exact payload to file at `POST /admin/approvals`; the desk applies them once approved.
 * An unreachable or throwing risk worker is a 503, a non-answer a 502 and one too slow a 504, never a success:
 * every caller of risk treats "no answer" as "denied" (`rpc()`). A change that times out says its outcome is
 * unknown and where to read it.
 */
export function registerRiskRoutes(router: GatewayRouter): void {
  router.get("/admin/circuit-breaker", methodRoute("RISK", "getBreaker", { wait: "read" }));

  router.post(
    "/admin/circuit-breaker/transition",
    bodyMethod("RISK", "transitionBreaker", BreakerTransitionRequest, {
      wait: { check: "GET /admin/circuit-breaker" },
      maxBytes: 4 * 1024,
    }),
  );

  settingRoutes(
    router,
    "/admin/risk/limits",
    "RISK",
    { read: "getLimits", change: "updateLimits" },
    RiskLimits,
    {
      maxBytes: 64 * 1024,
    },
  );

  router.get("/admin/risk/exposure", methodRoute("RISK", "exposure", { wait: "read" }));
  // The capital base the % limits apply to: lowering at once, raising is a two-person action.
  router.put(
    "/admin/risk/capital",
    bodyMethod("RISK", "setCapital", CapitalChange, {
      wait: { check: "GET /admin/risk/exposure" },
    }),
  );
  // Verify the audit chain now and feed the breaker (what risk's 5-minute cron runs): a verification takes as long
  // as the chain asks and its verdict is the point, so it is waited for.
  router.post("/admin/risk/audit-watch", methodRoute("RISK", "watchAudit", { wait: "until answered" }));

  // Try an intent without acting: a dry run is never recorded or consumable, so it is bounded as a read.
  router.post(
    "/admin/risk/evaluate",
    bodyCall("RISK", OrderIntent, (risk, intent, actor) => risk.evaluate(intent, actor, "dry_run"), {
      what: "risk.evaluate(dry_run)",
      wait: "read",
      maxBytes: 16 * 1024,
    }),
  );
}
