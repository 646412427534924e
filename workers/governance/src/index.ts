import { WorkerEntrypoint } from "cloudflare:workers";
import {
  type ApprovalAction,
  ApprovalAction as ApprovalActionSchema,
  type ApprovalDecision,
  type ApprovalReceiptRef,
  ApprovalRequestInput,
  ApprovalStatus,
  type ApprovalView,
  type ApproverRoster,
  ErrorCode,
  err,
  FreeText,
  GoLiveReplay,
  type GovernanceRpc,
  type HealthReport,
  ok,
  type PairAssessment,
  type PairCandidate,
  PairReviewInput,
  type PairView,
  Principal,
  type Result,
  type RosterListing,
  StrategyCreateInput,
  StrategyId,
  type StrategySummary,
  type StrategyView,
  systemPrincipal,
  type TradablePair,
  type VerifiedApproval,
} from "@paulp/contracts";
import { checkD1, type RpcOptions, requireConfig, rpc, runHealthChecks, serve } from "@paulp/kit";
import * as v from "valibot";
import * as approvals from "./approvals";
import { deskConfig } from "./config";
import { redeemReceipt, returnReceipt } from "./desk-client";
import type { Env } from "./env";
import {
  type Act,
  type Context,
  contextAt,
  Id,
  IdAndActor,
  OWN_FAILURE,
  presentedReceipt,
} from "./operation-support";
import * as pairOps from "./pair-ops";
import * as pairs from "./pairs";
import * as strategies from "./strategies";
import * as strategyOps from "./strategy-ops";

export { ApprovalDesk } from "./approval-desk";

/** Why an applier gives its receipt back. */
const ReturnReason = v.pipe(v.string(), v.minLength(1), v.maxLength(500));
/** A filter of requests by status (none: every request). */
const ApprovalFilter = v.object({ status: v.optional(ApprovalStatus) });

/** A method's work named `what`: a throw is logged and answered without its cause (OWN_FAILURE). */
const own = (what: string): RpcOptions => ({ what, ...OWN_FAILURE });

/**
 * The governance worker's RPC surface. Each method parses its arguments here (kit's `serve`: the first that fails
 * is the answer, `validation_failed` naming the field) and hands the typed values, with the context (bindings, the
 * clock and who acts), to the operation modules (approvals, desk-client, strategy-ops, pair-ops). A malformed
 * receipt is a refused approval (`approval_required`), not a malformed argument: redeemReceipt and returnReceipt
 * judge it first; the appliers (applyStrategyApproval, applyRosterChange) pass it on as presented, to be judged
 * when it is redeemed, after the change is checked. An approved payload goes on as presented too: its hash is
 * what the approval bound.
 */
export class GovernanceEntrypoint extends WorkerEntrypoint<Env> implements GovernanceRpc {
  /** The operations' context, at the real clock. */
  private context(): Context {
    return contextAt(this.env, Date.now);
  }

  /** An operation by `actor`, at the real clock. */
  private by(actor: Principal): Act {
    return { ...this.context(), actor };
  }

  async health(): Promise<HealthReport> {
    return runHealthChecks("governance", {
      d1_governance: () => checkD1(this.env.D1_GOVERNANCE),
      approval_desk: async () => this.env.APPROVAL_DESK.get(this.env.APPROVAL_DESK.idFromName("desk")).ping(),
      config: requireConfig({ ANTHROPIC_MODEL: this.env.ANTHROPIC_MODEL }),
      // The SDK's own data (bundled, refreshed with the dependency): a model past its end of life is unhealthy.
      anthropic_model: async () => {
        const usable = pairOps.usableModel(this.env, Date.now());
        if (!usable.ok) throw new Error(usable.error.message);
        const m = usable.value;
        return m.state === "deprecated"
          ? `${m.model}: deprecated, end of life ${m.endOfLife} (${m.daysLeft} days left): choose a current model`
          : `${m.model}: current`;
      },
      desk_timing: async () => {
        if (!deskConfig(this.env)) throw new Error("APPROVAL_TTL_SECONDS / EXECUTE_WINDOW_SECONDS invalid");
        return "valid";
      },
      approver_rosters: async () => {
        const missing = await approvals.actionsWithoutRoster(this.env);
        if (missing.length > 0)
          throw new Error(`no approver roster (set APPROVER_ROSTER) for ${missing.join(", ")}`);
        return "every action has one";
      },
    });
  }

  async redeemReceipt(
    receipt: ApprovalReceiptRef,
    action: ApprovalAction,
    payload: unknown,
    actor: Principal,
  ): Promise<Result<VerifiedApproval>> {
    const presented = presentedReceipt(receipt, "receipt refused");
    if (!presented.ok) return presented;
    return serve(own("redeemReceipt"), [ApprovalActionSchema, Principal], [action, actor], (a, who) =>
      redeemReceipt(this.by(who), presented.value, a, payload),
    );
  }

  async returnReceipt(
    receipt: ApprovalReceiptRef,
    reason: string,
    actor: Principal,
  ): Promise<Result<{ requestId: string; status: ApprovalStatus }>> {
    const presented = presentedReceipt(receipt, "receipt not returned");
    if (!presented.ok) return presented;
    return serve(own("returnReceipt"), [ReturnReason, Principal], [reason, actor], async (why, who) => {
      const back = await returnReceipt(this.by(who), presented.value, why);
      return back.ok ? ok({ requestId: back.value.requestId, status: back.value.status }) : back;
    });
  }

  async proposePairs(
    candidates: PairCandidate[],
    actor: Principal,
  ): Promise<Result<{ created: number; lapsed: number; refused: number; rekeyed: number }>> {
    return serve(own("proposePairs"), [pairOps.Candidates, Principal], [candidates, actor], (list, who) =>
      pairOps.proposePairs(this.by(who), list),
    );
  }

  async tradablePairs(): Promise<Result<TradablePair[]>> {
    return rpc(async () => ok(await pairs.tradablePairs(this.env.D1_GOVERNANCE)), own("tradablePairs"));
  }

  async activeStrategies(): Promise<Result<StrategySummary[]>> {
    return rpc(
      async () => ok(await strategies.activeStrategies(this.env.D1_GOVERNANCE)),
      own("activeStrategies"),
    );
  }

  async getStrategy(strategyId: string): Promise<Result<StrategySummary>> {
    return serve(own("getStrategy"), [StrategyId], [strategyId], async (id) => {
      const s = await strategies.getStrategy(this.env.D1_GOVERNANCE, id);
      return s ? ok(strategies.summaryOf(s)) : err(ErrorCode.notFound, `no strategy ${id}`);
    });
  }

  async requestApproval(input: ApprovalRequestInput, actor: Principal): Promise<Result<ApprovalView>> {
    return serve(own("requestApproval"), [Principal, ApprovalRequestInput], [actor, input], (who, request) =>
      approvals.requestApproval(this.by(who), request),
    );
  }

  async approve(requestId: string, actor: Principal): Promise<Result<ApprovalDecision>> {
    return serve(own("approve"), [IdAndActor], [{ id: requestId, actor }], ({ id, actor: who }) =>
      approvals.approve(this.by(who), id),
    );
  }

  async reject(requestId: string, reason: string, actor: Principal): Promise<Result<ApprovalView>> {
    return serve(
      own("reject"),
      [Id, FreeText(500, 1), Principal],
      [requestId, reason, actor],
      (id, why, who) => approvals.reject(this.by(who), id, why),
    );
  }

  async listApprovals(filter: { status?: ApprovalStatus }): Promise<Result<ApprovalView[]>> {
    return serve(own("listApprovals"), [ApprovalFilter], [filter ?? {}], ({ status }) =>
      approvals.listApprovals(this.context(), status),
    );
  }

  async getApproval(requestId: string): Promise<Result<ApprovalView>> {
    return serve(own("getApproval"), [Id], [requestId], (id) => approvals.getApproval(this.context(), id));
  }

  async reissueReceipt(requestId: string, actor: Principal): Promise<Result<ApprovalDecision>> {
    return serve(own("reissueReceipt"), [IdAndActor], [{ id: requestId, actor }], ({ id, actor: who }) =>
      approvals.reissueReceipt(this.by(who), id),
    );
  }

  async applyStrategyApproval(
    receipt: ApprovalReceiptRef,
    action: "strategy.go_live" | "strategy.allocation_increase",
    payload: unknown,
    actor: Principal,
  ): Promise<Result<StrategyView>> {
    const schemas = [strategyOps.StrategyApprovalAction, Principal] as const;
    return serve(own("applyStrategyApproval"), schemas, [action, actor], (a, who) =>
      strategyOps.applyStrategyApproval(this.by(who), receipt, a, payload),
    );
  }

  async listRosters(): Promise<Result<RosterListing[]>> {
    return rpc(() => approvals.listRosters(this.context()), own("listRosters"));
  }

  async applyRosterChange(
    receipt: ApprovalReceiptRef,
    payload: unknown,
    actor: Principal,
  ): Promise<Result<ApproverRoster>> {
    return serve(own("applyRosterChange"), [Principal], [actor], (who) =>
      approvals.applyRosterChange(this.by(who), receipt, payload),
    );
  }

  async createStrategy(input: StrategyCreateInput, actor: Principal): Promise<Result<StrategyView>> {
    return serve(own("createStrategy"), [StrategyCreateInput, Principal], [input, actor], (created, who) =>
      strategyOps.createStrategy(this.by(who), created),
    );
  }

  async listStrategies(): Promise<Result<StrategyView[]>> {
    return rpc(
      async () => ok(await strategies.listStrategies(this.env.D1_GOVERNANCE)),
      own("listStrategies"),
    );
  }

  async transitionStrategy(
    strategyId: string,
    to: "paper" | "paused" | "retired",
    actor: Principal,
  ): Promise<Result<StrategyView>> {
    const schemas = [Id, strategyOps.DirectMove, Principal] as const;
    return serve(own("transitionStrategy"), schemas, [strategyId, to, actor], (id, target, who) =>
      strategyOps.transitionStrategy(this.by(who), id, target),
    );
  }

  async requestGoLive(
    strategyId: string,
    actor: Principal,
    replay: GoLiveReplay,
  ): Promise<Result<{ strategy: StrategyView; request: ApprovalView }>> {
    const schemas = [IdAndActor, GoLiveReplay] as const;
    return serve(
      own("requestGoLive"),
      schemas,
      [{ id: strategyId, actor }, replay],
      ({ id, actor: who }, cited) => strategyOps.requestGoLive(this.by(who), id, cited),
    );
  }

  async listPairs(filter: { review?: "pending" | "approved" | "rejected" }): Promise<Result<PairView[]>> {
    return rpc(async () => {
      const review = filter?.review;
      if (review !== undefined && review !== "pending" && review !== "approved" && review !== "rejected") {
        return err(ErrorCode.validationFailed, "review: must be pending, approved or rejected");
      }
      return ok(await pairs.listPairs(this.env.D1_GOVERNANCE, review));
    }, own("listPairs"));
  }

  async assessPair(
    pairId: string,
    actor: Principal,
  ): Promise<Result<{ pair: PairView; assessment: PairAssessment }>> {
    return serve(own("assessPair"), [IdAndActor], [{ id: pairId, actor }], ({ id, actor: who }) =>
      pairOps.assessPair(this.by(who), id),
    );
  }

  async reviewPair(pairId: string, review: PairReviewInput, actor: Principal): Promise<Result<PairView>> {
    const schemas = [Id, PairReviewInput, Principal] as const;
    return serve(own("reviewPair"), schemas, [pairId, review, actor], (id, ruling, who) =>
      pairOps.reviewPair(this.by(who), id, ruling),
    );
  }

  async assessPending(actor: Principal, limit = 20): Promise<Result<{ assessed: number }>> {
    const bounded = Math.min(Math.max(Math.trunc(Number(limit) || 20), 1), 100);
    return serve(own("assessPending"), [Principal], [actor], async (who) =>
      ok({ assessed: await pairOps.assessPending(this.by(who), bounded) }),
    );
  }

  /** Every ten minutes: assess a few candidates nobody has assessed yet. */
  override async scheduled(_controller: ScheduledController): Promise<void> {
    const done = await pairOps.assessPending(this.by(systemPrincipal("cron:governance")));
    if (done > 0) console.log(`governance cron assessed ${done} pair(s)`);
  }
}

export default GovernanceEntrypoint;
