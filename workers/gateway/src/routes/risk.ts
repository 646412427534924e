import { BreakerTransitionRequest, CapitalChange, OrderIntent, RiskLimits } from "@paulp/contracts";
import { readJsonBody } from "@paulp/kit";
import { answer } from "../answer";
import { principalOf } from "../context";
import type { GatewayRouter } from "../router";

/**
 * Admin routes of the risk worker. The breaker transition body is the specification's emergency
 * procedure, `{ "targetState": "HALT", "reason": "…" }`, read as JSON whatever the content-type (the
 * documented curl sends none). RECOVERY → NORMAL and raising limits answer 403 `approval_required` with
 * the action and exact payload to file at `POST /admin/approvals`; the desk applies them once approved.
 * An unreachable or throwing risk worker is a 503 and a non-answer a 502, never a success: every caller of
 * risk treats "no answer" as "denied" (`rpc()`).
 */
export function registerRiskRoutes(router: GatewayRouter): void {
  router.get("/admin/circuit-breaker", async (_request, env) =>
    answer(env.RISK, (risk) => risk.getBreaker(), "risk.getBreaker"),
  );

  router.post("/admin/circuit-breaker/transition", async (request, env) => {
    const body = await readJsonBody(request, BreakerTransitionRequest, 4 * 1024);
    const actor = principalOf(request);
    return answer(env.RISK, (risk) => risk.transitionBreaker(body, actor), "risk.transitionBreaker");
  });

  router.get("/admin/risk/limits", async (_request, env) =>
    answer(env.RISK, (risk) => risk.getLimits(), "risk.getLimits"),
  );

  router.put("/admin/risk/limits", async (request, env) => {
    const limits = await readJsonBody(request, RiskLimits, 64 * 1024);
    const actor = principalOf(request);
    return answer(env.RISK, (risk) => risk.updateLimits(limits, actor), "risk.updateLimits");
  });

  router.get("/admin/risk/exposure", async (_request, env) =>
    answer(env.RISK, (risk) => risk.exposure(), "risk.exposure"),
  );
  // The capital base the % limits apply to: lowering at once, raising is a two-person action.
  router.put("/admin/risk/capital", async (request, env) => {
    const body = await readJsonBody(request, CapitalChange);
    return answer(env.RISK, (risk) => risk.setCapital(body, principalOf(request)), "risk.setCapital");
  });
  // Verify the audit chain now and feed the breaker (what risk's 5-minute cron runs).
  router.post("/admin/risk/audit-watch", async (_request, env) =>
    answer(env.RISK, (risk) => risk.watchAudit(), "risk.watchAudit"),
  );

  // Try an intent without acting: a dry run is never recorded or consumable.
  router.post("/admin/risk/evaluate", async (request, env) => {
    const intent = await readJsonBody(request, OrderIntent, 16 * 1024);
    const actor = principalOf(request);
    return answer(env.RISK, (risk) => risk.evaluate(intent, actor, "dry_run"), "risk.evaluate(dry_run)");
  });
}
