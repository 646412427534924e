import {
  ApprovalActionPayload,
  type ApprovalDecision,
  type ApprovalReceiptRef,
  ApprovalRequestInput,
  ApprovalStatus,
  type ApprovalView,
  ErrorCode,
  err,
  FreeText,
  GoLiveInput,
  type GovernanceRpc,
  PairReviewInput,
  type Principal,
  type Result,
  StrategyCreateInput,
} from "@paulp/contracts";
import { json, readJsonBody, resultResponse, rpc, statusForError, unwrap } from "@paulp/kit";
import * as v from "valibot";
import { ask, bodyCall, bodyMethod, methodRoute } from "../answer";
import { actorOnly, principalOf, requirePerson } from "../context";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";
import { queryParam } from "./query";
import { citeReplay } from "./replays";

export const RejectBody = v.object({ reason: FreeText(500, 1) });
const ApprovalStatusQuery = v.optional(ApprovalStatus);
const ReviewQuery = v.optional(v.picklist(["pending", "approved", "rejected"]));

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
  // A throw is an upstream failure of the apply, as before the boundary layer: the request stays approved. Not
  // bounded: the apply spends a single-use receipt, and the answer must say whether it did.
  const options = { what: "apply", code: ErrorCode.upstreamError };
  // The desk checked the payload against the same variant when the request opened; it is narrowed, not parsed
  // again, so each applier re-hashes exactly the bytes that were approved.
  const approved = { action: request.action, payload: request.payload };
  if (!v.is(ApprovalActionPayload, approved))
    return err(ErrorCode.validationFailed, `apply: the approved payload is not a ${request.action} payload`);
  switch (approved.action) {
    case "risk.capital_increase": {
      const change = approved.payload;
      return rpc(env.RISK, (risk) => risk.setCapital(change, actor, receipt), options);
    }
    case "risk.limits_increase": {
      const { limits } = approved.payload;
      return rpc(env.RISK, (risk) => risk.updateLimits(limits, actor, receipt), options);
    }
    case "breaker.recovery_to_normal": {
      const transition = approved.payload;
      return rpc(env.RISK, (risk) => risk.transitionBreaker(transition, actor, receipt), options);
    }
    case "execution.policy_live": {
      const change = approved.payload;
      return rpc(env.EXECUTION, (execution) => execution.setPolicy(change, actor, receipt), options);
    }
    case "strategy.go_live": {
      // The cited replay must still back it: same report, same params, not too old by now.
      const { payload } = approved;
      const cited = await citeReplay(
        env,
        payload.strategyId,
        payload.replay.replayId,
        Date.now(),
        payload.replay.reportHash,
      );
      if (!cited.ok) return cited;
      return rpc(
        env.GOVERNANCE,
        (governance) => governance.applyStrategyApproval(receipt, "strategy.go_live", payload, actor),
        options,
      );
    }
    case "strategy.allocation_increase": {
      const { action, payload } = approved;
      return rpc(
        env.GOVERNANCE,
        (governance) => governance.applyStrategyApproval(receipt, action, payload, actor),
        options,
      );
    }
    case "governance.roster_change": {
      const change = approved.payload;
      return rpc(
        env.GOVERNANCE,
        (governance) => governance.applyRosterChange(receipt, change, actor),
        options,
      );
    }
  }
}

/**
 * The desk's decision on a request (an approval, or a receipt re-issued to re-run the apply step), then its apply
 * when it carries a receipt. The receipt never leaves the gateway: the answer says whether the apply step worked,
 * not the token. An apply that failed is not a success: it answers the applier's error status with the envelope,
 * and `request` as it stands after the failure (approved again when the receipt was given back, so it can be re-run).
 */
async function decideThenApply(
  env: Env,
  actor: Principal,
  what: string,
  decide: (governance: GovernanceRpc) => Promise<Result<ApprovalDecision>>,
) {
  // Waited for: an approval at the threshold hands the gateway a single-use receipt it must apply.
  const decision = unwrap(await rpc(env.GOVERNANCE, decide, { what }));
  if (!decision.receipt) return json({ request: decision.request, applied: null });
  const applied = await applyApproved(env, decision.request, decision.receipt, actor);
  // The action's outcome is the answer: a failed re-read of the request must not turn an applied action into
  // an error (the receipt is spent; a retry would only confuse).
  const reread = await ask(
    env,
    "GOVERNANCE",
    (governance) => governance.getApproval(decision.request.requestId),
    "governance.getApproval",
  );
  const request = reread.ok ? reread.value : decision.request;
  if (!applied.ok) return json({ error: applied.error, request }, statusForError(applied.error));
  return json({ request, applied: { ok: true, value: applied.value } });
}

/**
 * Admin routes of the governance worker: the approval desk, strategies and market pairs. Reads and the desk's own
 * writes are bounded (a write that times out says its outcome is unknown and where to look); a decision that hands
 * the gateway a receipt to apply, and an LLM assessment (bounded by governance's own model timeout), are waited for.
 */
export function registerGovernanceRoutes(router: GatewayRouter): void {
  router.get(
    "/admin/approvals",
    methodRoute("GOVERNANCE", "listApprovals", {
      args: (request) => [{ status: queryParam(request, "status", ApprovalStatusQuery) }],
      wait: "read",
    }),
  );
  router.get(
    "/admin/approvals/:id",
    methodRoute("GOVERNANCE", "getApproval", { args: (request) => [request.params.id!], wait: "read" }),
  );
  router.post(
    "/admin/approvals",
    bodyMethod("GOVERNANCE", "requestApproval", ApprovalRequestInput, {
      wait: { check: "GET /admin/approvals" },
      person: "request a two-person action",
      status: 201,
    }),
  );
  router.post("/admin/approvals/:id/approve", async (request, env) => {
    const actor = requirePerson(request, "approve");
    return decideThenApply(env, actor, "governance.approve", (g) => g.approve(request.params.id!, actor));
  });
  router.post(
    "/admin/approvals/:id/reject",
    bodyCall(
      "GOVERNANCE",
      RejectBody,
      (g, body, actor, request) => g.reject(request.params.id!, body.reason, actor),
      {
        what: "governance.reject",
        wait: { check: "GET /admin/approvals/:id" },
        person: "reject",
      },
    ),
  );
  router.post("/admin/approvals/:id/execute", async (request, env) => {
    const actor = requirePerson(request, "execute an approval");
    return decideThenApply(env, actor, "governance.reissueReceipt", (g) =>
      g.reissueReceipt(request.params.id!, actor),
    );
  });

  // Who may approve each action (the first roster comes from config; GET shows it, seeding it if needed).
  router.get("/admin/approvers", methodRoute("GOVERNANCE", "listRosters", { wait: "read" }));

  router.get("/admin/strategies", methodRoute("GOVERNANCE", "listStrategies", { wait: "read" }));
  router.post(
    "/admin/strategies",
    bodyMethod("GOVERNANCE", "createStrategy", StrategyCreateInput, {
      wait: { check: "GET /admin/strategies" },
      status: 201,
    }),
  );
  for (const [verb, to] of [
    ["pause", "paused"],
    ["retire", "retired"],
    ["paper", "paper"],
  ] as const) {
    router.post(
      `/admin/strategies/:id/${verb}`,
      methodRoute("GOVERNANCE", "transitionStrategy", {
        args: (request) => [request.params.id!, to, principalOf(request)],
        wait: { check: "GET /admin/strategies" },
      }),
    );
  }
  // The specification's name: this opens the two-person request; the strategy goes live when it is approved.
  // It cites a replay of the strategy's params now (#18): checked here, carried in the request, re-checked at apply.
  router.post("/admin/strategies/:id/go-live", async (request, env) => {
    const actor = requirePerson(request, "request go-live");
    const { replayId } = await readJsonBody(request, GoLiveInput);
    const strategyId = request.params.id!;
    const replay = unwrap(await citeReplay(env, strategyId, replayId, Date.now()));
    const requested = await ask(
      env,
      "GOVERNANCE",
      (governance) => governance.requestGoLive(strategyId, actor, replay),
      "governance.requestGoLive",
      { check: "GET /admin/approvals" },
    );
    return resultResponse(requested, 201);
  });

  router.get(
    "/admin/pairs",
    methodRoute("GOVERNANCE", "listPairs", {
      args: (request) => [{ review: queryParam(request, "review", ReviewQuery) }],
      wait: "read",
    }),
  );
  router.post(
    "/admin/pairs/assess-pending",
    methodRoute("GOVERNANCE", "assessPending", {
      args: actorOnly,
      wait: "until answered",
    }),
  );
  router.post(
    "/admin/pairs/:id/assess",
    methodRoute("GOVERNANCE", "assessPair", {
      args: (request) => [request.params.id!, principalOf(request)],
      wait: "until answered",
    }),
  );
  router.post(
    "/admin/pairs/:id/review",
    bodyCall(
      "GOVERNANCE",
      PairReviewInput,
      (g, body, actor, request) => g.reviewPair(request.params.id!, body, actor),
      {
        what: "governance.reviewPair",
        wait: { check: "GET /admin/pairs" },
        person: "review a pair",
      },
    ),
  );
}
