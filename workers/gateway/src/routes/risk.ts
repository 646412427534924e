import {
  BreakerTransitionRequest,
  CapitalChange,
  ErrorCode,
  OrderIntent,
  type Result,
  RiskLimits,
  type RiskRpc,
} from "@paulp/contracts";
import { errorJson, readJsonBody, resultResponse } from "@paulp/kit";
import { principalOf } from "../context";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";

/** The binding seen through its contract (the stub's RPC-wrapped return types are too deep for the checker). */
const riskOf = (env: Env) => env.RISK as unknown as RiskRpc;

/**
 * Call risk and map its result. An unreachable or throwing risk worker is a 503, never a success: every
 * caller of risk treats "no answer" as "denied".
 */
async function call<T>(what: string, fn: () => Promise<Result<T>>): Promise<Response> {
  let result: Result<T>;
  try {
    result = await fn();
  } catch (error) {
    return errorJson(503, {
      code: ErrorCode.serviceUnavailable,
      message: `risk unreachable (${what}): ${(error as Error).message}`,
    });
  }
  if (!result || typeof result !== "object" || typeof result.ok !== "boolean") {
    return errorJson(502, { code: ErrorCode.upstreamError, message: `risk answered ${what} with no result` });
  }
  return resultResponse(result);
}

/**
 * Admin routes of the risk worker. The breaker transition body is the specification's emergency
 * procedure, `{ "targetState": "HALT", "reason": "…" }`, read as JSON whatever the content-type (the
 * documented curl sends none). RECOVERY → NORMAL and raising limits answer 403 `approval_required` with
 * the action and exact payload to file at `POST /admin/approvals`; the desk applies them once approved.
 */
export function registerRiskRoutes(router: GatewayRouter): void {
  router.get("/admin/circuit-breaker", (_request, env) => call("getBreaker", () => riskOf(env).getBreaker()));

  router.post("/admin/circuit-breaker/transition", async (request, env) => {
    const body = await readJsonBody(request, BreakerTransitionRequest, 4 * 1024);
    const actor = principalOf(request);
    return call("transitionBreaker", () => riskOf(env).transitionBreaker(body, actor));
  });

  router.get("/admin/risk/limits", (_request, env) => call("getLimits", () => riskOf(env).getLimits()));

  router.put("/admin/risk/limits", async (request, env) => {
    const limits = await readJsonBody(request, RiskLimits, 64 * 1024);
    const actor = principalOf(request);
    return call("updateLimits", () => riskOf(env).updateLimits(limits, actor));
  });

  router.get("/admin/risk/exposure", (_request, env) => call("exposure", () => riskOf(env).exposure()));
  // The capital base the % limits apply to: lowering at once, raising is a two-person action.
  router.put("/admin/risk/capital", async (request, env) => {
    const body = await readJsonBody(request, CapitalChange);
    return call("setCapital", () => riskOf(env).setCapital(body, principalOf(request)));
  });
  // Verify the audit chain now and feed the breaker (what risk's 5-minute cron runs).
  router.post("/admin/risk/audit-watch", (_request, env) =>
    call("watchAudit", () => riskOf(env).watchAudit()),
  );

  // Try an intent without acting: a dry run is never recorded or consumable.
  router.post("/admin/risk/evaluate", async (request, env) => {
    const intent = await readJsonBody(request, OrderIntent, 16 * 1024);
    const actor = principalOf(request);
    return call("evaluateOnly", () => riskOf(env).evaluateOnly(intent, actor));
  });
}
