import {
  type ApprovalReceiptRef,
  ApprovalRequestInput,
  ApprovalStatus,
  type ApprovalView,
  type BreakerTransitionRequest,
  type CapitalChange,
  ErrorCode,
  type ExecutionPolicyChange,
  FreeText,
  type GovernanceRpc,
  isPerson,
  PairReviewInput,
  type Principal,
  type Result,
  type RiskLimits,
  StrategyCreateInput,
} from "@paulp/contracts";
import { HttpError, json, readJsonBody, resultResponse, statusForError, unwrap } from "@paulp/kit";
import * as v from "valibot";
import { type GatewayRequest, principalOf } from "../context";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";

/** The binding seen through its contract (the stub's RPC-wrapped return types are too deep for the checker). */
const gov = (env: Env) => env.GOVERNANCE as unknown as GovernanceRpc;

export const RejectBody = v.object({ reason: FreeText(500, 1) });
const ApprovalStatusQuery = v.optional(ApprovalStatus);
const ReviewQuery = v.optional(v.picklist(["pending", "approved", "rejected"]));

/** Two-person actions need a verified person; refuse the shared token here before any RPC. */
function requirePerson(request: GatewayRequest, what: string): Principal {
  const principal = principalOf(request);
  if (!isPerson(principal)) {
    throw new HttpError(
      403,
      ErrorCode.forbidden,
      `only a verified person (Cloudflare Access) can ${what}; the admin token cannot`,
    );
  }
  return principal;
}

function query<S extends v.GenericSchema>(
  request: GatewayRequest,
  name: string,
  schema: S,
): v.InferOutput<S> {
  const raw = new URL(request.url).searchParams.get(name) ?? undefined;
  const parsed = v.safeParse(schema, raw);
  if (!parsed.success)
    throw new HttpError(400, ErrorCode.validationFailed, `${name}: ${parsed.issues[0].message}`);
  return parsed.output;
}

/**
 * Apply an approved action by handing the desk's receipt to the worker that owns it; that worker redeems
 * it with governance (single use, payload re-hashed). Never throws: a failed apply leaves the request
 * approved, and `POST /admin/approvals/:id/execute` re-runs it within the execute window.
 */
export async function applyApproved(
  env: Env,
  request: ApprovalView,
  receipt: ApprovalReceiptRef,
  actor: Principal,
): Promise<Result<unknown>> {
  try {
    const payload = request.payload as Record<string, unknown>;
    switch (request.action) {
      case "risk.capital_increase":
        return await env.RISK.setCapital(payload as unknown as CapitalChange, actor, receipt);
      case "risk.limits_increase":
        return await env.RISK.updateLimits(payload.limits as RiskLimits, actor, receipt);
      case "breaker.recovery_to_normal":
        return await env.RISK.transitionBreaker(
          payload as unknown as BreakerTransitionRequest,
          actor,
          receipt,
        );
      case "execution.policy_live":
        return await env.EXECUTION.setPolicy(payload as unknown as ExecutionPolicyChange, actor, receipt);
      case "strategy.go_live":
      case "strategy.allocation_increase":
        return await gov(env).applyStrategyApproval(receipt, request.action, request.payload, actor);
      case "governance.roster_change":
        return await gov(env).applyRosterChange(receipt, request.payload, actor);
    }
  } catch (error) {
    return {
      ok: false,
      error: { code: ErrorCode.upstreamError, message: `apply failed: ${(error as Error).message}` },
    };
  }
}

/**
 * The receipt never leaves the gateway: the answer says whether the apply step worked, not the token. An apply
 * that failed is not a success: it answers the applier's error status with the envelope, and `request` as it
 * stands after the failure (approved again when the receipt was given back, so it can be re-run).
 */
async function approvedAnswer(
  env: Env,
  decision: { request: ApprovalView; receipt: ApprovalReceiptRef | null },
  actor: Principal,
) {
  if (!decision.receipt) return json({ request: decision.request, applied: null });
  const applied = await applyApproved(env, decision.request, decision.receipt, actor);
  // The action's outcome is the answer: a failed re-read of the request must not turn an applied action into
  // an error (the receipt is spent; a retry would only confuse).
  const reread = await gov(env)
    .getApproval(decision.request.requestId)
    .catch(() => null);
  const request = reread?.ok ? reread.value : decision.request;
  if (!applied.ok) return json({ error: applied.error, request }, statusForError(applied.error));
  return json({ request, applied: { ok: true, value: applied.value } });
}

/** Admin routes of the governance worker: the approval desk, strategies and market pairs. */
export function registerGovernanceRoutes(router: GatewayRouter): void {
  router.get("/admin/approvals", async (request, env) =>
    resultResponse(await gov(env).listApprovals({ status: query(request, "status", ApprovalStatusQuery) })),
  );
  router.get("/admin/approvals/:id", async (request, env) =>
    resultResponse(await gov(env).getApproval(request.params.id!)),
  );
  router.post("/admin/approvals", async (request, env) => {
    const actor = requirePerson(request, "request a two-person action");
    const body = await readJsonBody(request, ApprovalRequestInput);
    return resultResponse(await gov(env).requestApproval(body, actor), 201);
  });
  router.post("/admin/approvals/:id/approve", async (request, env) => {
    const actor = requirePerson(request, "approve");
    const decision = unwrap(await gov(env).approve(request.params.id!, actor));
    return approvedAnswer(env, decision, actor);
  });
  router.post("/admin/approvals/:id/reject", async (request, env) => {
    const actor = requirePerson(request, "reject");
    const body = await readJsonBody(request, RejectBody);
    return resultResponse(await gov(env).reject(request.params.id!, body.reason, actor));
  });
  router.post("/admin/approvals/:id/execute", async (request, env) => {
    const actor = requirePerson(request, "execute an approval");
    const decision = unwrap(await gov(env).reissueReceipt(request.params.id!, actor));
    return approvedAnswer(env, decision, actor);
  });

  // Who may approve each action (the first roster comes from config; GET shows it, seeding it if needed).
  router.get("/admin/approvers", async (_request, env) => resultResponse(await gov(env).listRosters()));

  router.get("/admin/strategies", async (_request, env) => resultResponse(await gov(env).listStrategies()));
  router.post("/admin/strategies", async (request, env) => {
    const body = await readJsonBody(request, StrategyCreateInput);
    return resultResponse(await gov(env).createStrategy(body, principalOf(request)), 201);
  });
  for (const [verb, to] of [
    ["pause", "paused"],
    ["retire", "retired"],
    ["paper", "paper"],
  ] as const) {
    router.post(`/admin/strategies/:id/${verb}`, async (request, env) =>
      resultResponse(await gov(env).transitionStrategy(request.params.id!, to, principalOf(request))),
    );
  }
  // The specification's name: this opens the two-person request; the strategy goes live when it is approved.
  router.post("/admin/strategies/:id/go-live", async (request, env) => {
    const actor = requirePerson(request, "request go-live");
    return resultResponse(await gov(env).requestGoLive(request.params.id!, actor), 201);
  });

  router.get("/admin/pairs", async (request, env) =>
    resultResponse(await gov(env).listPairs({ review: query(request, "review", ReviewQuery) })),
  );
  router.post("/admin/pairs/assess-pending", async (request, env) =>
    resultResponse(await gov(env).assessPending(principalOf(request))),
  );
  router.post("/admin/pairs/:id/assess", async (request, env) =>
    resultResponse(await gov(env).assessPair(request.params.id!, principalOf(request))),
  );
  router.post("/admin/pairs/:id/review", async (request, env) => {
    const actor = requirePerson(request, "review a pair");
    const body = await readJsonBody(request, PairReviewInput);
    return resultResponse(await gov(env).reviewPair(request.params.id!, body, actor));
  });
}
