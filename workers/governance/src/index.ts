import { WorkerEntrypoint } from "cloudflare:workers";
import {
  type ApprovalAction,
  type ApprovalDecision,
  type ApprovalReceiptRef,
  type ApprovalRequestInput,
  type ApprovalStatus,
  type ApprovalView,
  type ApproverRoster,
  ErrorCode,
  err,
  type GoLiveReplay,
  type GovernanceRpc,
  type HealthReport,
  ok,
  type PairAssessment,
  type PairCandidate,
  type PairReviewInput,
  type PairView,
  Principal,
  type Result,
  type RosterListing,
  type StrategyCreateInput,
  type StrategySummary,
  type StrategyView,
  systemPrincipal,
  type TradablePair,
  type VerifiedApproval,
} from "@paulp/contracts";
import { checkD1, parseInput, requireConfig, rpc, runHealthChecks, serve } from "@paulp/kit";
import * as v from "valibot";
import * as approvals from "./approvals";
import { deskConfig } from "./config";
import { redeemReceipt, returnReceipt } from "./desk-client";
import type { Env } from "./env";
import { OWN_FAILURE } from "./operation-support";
import * as pairOps from "./pair-ops";
import * as pairs from "./pairs";
import * as strategies from "./strategies";
import * as strategyOps from "./strategy-ops";

export { ApprovalDesk } from "./approval-desk";

/** A strategy id as an order names it (`OrderIntent.strategyId`). */
const StrategyId = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

/** A method's work, named `what`; its failure is logged and answered without the cause (OWN_FAILURE). */
function own<R>(what: string, work: () => Promise<Result<R>>): Promise<Result<R>> {
  return rpc(work, { what, ...OWN_FAILURE });
}

/** The governance worker's RPC surface: thin wrappers over the operation modules (approvals, desk-client, strategy-ops, pair-ops) with the real clock. */
export class GovernanceEntrypoint extends WorkerEntrypoint<Env> implements GovernanceRpc {
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
    return own("redeemReceipt", () => redeemReceipt(this.env, receipt, action, payload, actor, Date.now()));
  }

  async returnReceipt(
    receipt: ApprovalReceiptRef,
    reason: string,
    actor: Principal,
  ): Promise<Result<{ requestId: string; status: ApprovalStatus }>> {
    return own("returnReceipt", async () => {
      const back = await returnReceipt(this.env, receipt, reason, actor, Date.now());
      return back.ok ? ok({ requestId: back.value.requestId, status: back.value.status }) : back;
    });
  }

  async proposePairs(
    candidates: PairCandidate[],
    actor: Principal,
  ): Promise<Result<{ created: number; lapsed: number; refused: number; rekeyed: number }>> {
    return own("proposePairs", () => pairOps.proposePairs(this.env, candidates, actor, Date.now()));
  }

  async tradablePairs(): Promise<Result<TradablePair[]>> {
    return own("tradablePairs", async () => ok(await pairs.tradablePairs(this.env.D1_GOVERNANCE)));
  }

  async activeStrategies(): Promise<Result<StrategySummary[]>> {
    return own("activeStrategies", async () => ok(await strategies.activeStrategies(this.env.D1_GOVERNANCE)));
  }

  async getStrategy(strategyId: string): Promise<Result<StrategySummary>> {
    return serve({ what: "getStrategy", ...OWN_FAILURE }, [StrategyId], [strategyId], async (id) => {
      const s = await strategies.getStrategy(this.env.D1_GOVERNANCE, id);
      return s ? ok(strategies.summaryOf(s)) : err(ErrorCode.notFound, `no strategy ${id}`);
    });
  }

  async requestApproval(input: ApprovalRequestInput, actor: Principal): Promise<Result<ApprovalView>> {
    return own("requestApproval", () => approvals.requestApproval(this.env, input, actor, Date.now()));
  }

  async approve(requestId: string, actor: Principal): Promise<Result<ApprovalDecision>> {
    return own("approve", () => approvals.approve(this.env, requestId, actor, Date.now()));
  }

  async reject(requestId: string, reason: string, actor: Principal): Promise<Result<ApprovalView>> {
    return own("reject", () => approvals.reject(this.env, requestId, reason, actor, Date.now()));
  }

  async listApprovals(filter: { status?: ApprovalStatus }): Promise<Result<ApprovalView[]>> {
    return own("listApprovals", () => approvals.listApprovals(this.env, filter, Date.now()));
  }

  async getApproval(requestId: string): Promise<Result<ApprovalView>> {
    return own("getApproval", () => approvals.getApproval(this.env, requestId, Date.now()));
  }

  async reissueReceipt(requestId: string, actor: Principal): Promise<Result<ApprovalDecision>> {
    return own("reissueReceipt", () => approvals.reissueReceipt(this.env, requestId, actor, Date.now()));
  }

  async applyStrategyApproval(
    receipt: ApprovalReceiptRef,
    action: "strategy.go_live" | "strategy.allocation_increase",
    payload: unknown,
    actor: Principal,
  ): Promise<Result<StrategyView>> {
    return own("applyStrategyApproval", () =>
      strategyOps.applyStrategyApproval(this.env, receipt, action, payload, actor, Date.now()),
    );
  }

  async listRosters(): Promise<Result<RosterListing[]>> {
    return own("listRosters", () => approvals.listRosters(this.env, Date.now()));
  }

  async applyRosterChange(
    receipt: ApprovalReceiptRef,
    payload: unknown,
    actor: Principal,
  ): Promise<Result<ApproverRoster>> {
    return own("applyRosterChange", () =>
      approvals.applyRosterChange(this.env, receipt, payload, actor, Date.now()),
    );
  }

  async createStrategy(input: StrategyCreateInput, actor: Principal): Promise<Result<StrategyView>> {
    return own("createStrategy", () => strategyOps.createStrategy(this.env, input, actor, Date.now()));
  }

  async listStrategies(): Promise<Result<StrategyView[]>> {
    return own("listStrategies", async () => ok(await strategies.listStrategies(this.env.D1_GOVERNANCE)));
  }

  async transitionStrategy(
    strategyId: string,
    to: "paper" | "paused" | "retired",
    actor: Principal,
  ): Promise<Result<StrategyView>> {
    return own("transitionStrategy", () =>
      strategyOps.transitionStrategy(this.env, strategyId, to, actor, Date.now()),
    );
  }

  async requestGoLive(
    strategyId: string,
    actor: Principal,
    replay: GoLiveReplay,
  ): Promise<Result<{ strategy: StrategyView; request: ApprovalView }>> {
    return own("requestGoLive", () =>
      strategyOps.requestGoLive(this.env, strategyId, actor, replay, Date.now()),
    );
  }

  async listPairs(filter: { review?: "pending" | "approved" | "rejected" }): Promise<Result<PairView[]>> {
    return own("listPairs", async () => {
      const review = filter?.review;
      if (review !== undefined && review !== "pending" && review !== "approved" && review !== "rejected") {
        return err(ErrorCode.validationFailed, "review: must be pending, approved or rejected");
      }
      return ok(await pairs.listPairs(this.env.D1_GOVERNANCE, review));
    });
  }

  async assessPair(
    pairId: string,
    actor: Principal,
  ): Promise<Result<{ pair: PairView; assessment: PairAssessment }>> {
    return own("assessPair", () => pairOps.assessPair(this.env, pairId, actor, Date.now));
  }

  async reviewPair(pairId: string, review: PairReviewInput, actor: Principal): Promise<Result<PairView>> {
    return own("reviewPair", () => pairOps.reviewPair(this.env, pairId, review, actor, Date.now()));
  }

  async assessPending(actor: Principal, limit = 20): Promise<Result<{ assessed: number }>> {
    const who = parseInput(Principal, actor);
    if (!who.ok) return who;
    const bounded = Math.min(Math.max(Math.trunc(Number(limit) || 20), 1), 100);
    return own("assessPending", async () =>
      ok({ assessed: await pairOps.assessPending(this.env, who.value, Date.now, bounded) }),
    );
  }

  /** Every ten minutes: assess a few candidates nobody has assessed yet. */
  override async scheduled(_controller: ScheduledController): Promise<void> {
    const done = await pairOps.assessPending(this.env, systemPrincipal("cron:governance"), Date.now);
    if (done > 0) console.log(`governance cron assessed ${done} pair(s)`);
  }
}

export default GovernanceEntrypoint;
