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
import { checkD1, parseInput, requireConfig, runHealthChecks } from "@paulp/kit";
import * as v from "valibot";
import { deskConfig } from "./config";
import type { Env } from "./env";
import * as pairs from "./pairs";
import * as svc from "./service";
import * as strategies from "./strategies";

export { ApprovalDesk } from "./approval-desk";

/** A strategy id as an order names it (`OrderIntent.strategyId`). */
const StrategyId = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

/** Anything thrown below the entrypoint becomes a failed result: nothing is thrown across a binding. */
async function guard<T>(what: string, fn: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await fn();
  } catch (error) {
    console.error(`governance ${what} failed`, (error as Error)?.message);
    return err(ErrorCode.internal, `${what} failed`);
  }
}

/** The governance worker's RPC surface: thin wrappers over service.ts with the real clock. */
export class GovernanceEntrypoint extends WorkerEntrypoint<Env> implements GovernanceRpc {
  async health(): Promise<HealthReport> {
    return runHealthChecks("governance", {
      d1_governance: () => checkD1(this.env.D1_GOVERNANCE),
      approval_desk: async () => this.env.APPROVAL_DESK.get(this.env.APPROVAL_DESK.idFromName("desk")).ping(),
      config: requireConfig({ ANTHROPIC_MODEL: this.env.ANTHROPIC_MODEL }),
      // The SDK's own data (bundled, refreshed with the dependency): a model past its end of life is unhealthy.
      anthropic_model: async () => {
        const usable = svc.usableModel(this.env, Date.now());
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
        const missing = await svc.actionsWithoutRoster(this.env);
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
    return guard("redeemReceipt", () =>
      svc.redeemReceipt(this.env, receipt, action, payload, actor, Date.now()),
    );
  }

  async returnReceipt(
    receipt: ApprovalReceiptRef,
    reason: string,
    actor: Principal,
  ): Promise<Result<{ requestId: string; status: ApprovalStatus }>> {
    return guard("returnReceipt", async () => {
      const back = await svc.returnReceipt(this.env, receipt, reason, actor, Date.now());
      return back.ok ? ok({ requestId: back.value.requestId, status: back.value.status }) : back;
    });
  }

  async proposePairs(
    candidates: PairCandidate[],
    actor: Principal,
  ): Promise<Result<{ created: number; lapsed: number; refused: number; rekeyed: number }>> {
    return guard("proposePairs", () => svc.proposePairs(this.env, candidates, actor, Date.now()));
  }

  async tradablePairs(): Promise<Result<TradablePair[]>> {
    return guard("tradablePairs", async () => ok(await pairs.tradablePairs(this.env.D1_GOVERNANCE)));
  }

  async activeStrategies(): Promise<Result<StrategySummary[]>> {
    return guard("activeStrategies", async () =>
      ok(await strategies.activeStrategies(this.env.D1_GOVERNANCE)),
    );
  }

  async getStrategy(strategyId: string): Promise<Result<StrategySummary>> {
    const id = parseInput(StrategyId, strategyId);
    if (!id.ok) return id;
    return guard("getStrategy", async () => {
      const s = await strategies.getStrategy(this.env.D1_GOVERNANCE, id.value);
      return s ? ok(strategies.summaryOf(s)) : err(ErrorCode.notFound, `no strategy ${id.value}`);
    });
  }

  async requestApproval(input: ApprovalRequestInput, actor: Principal): Promise<Result<ApprovalView>> {
    return guard("requestApproval", () => svc.requestApproval(this.env, input, actor, Date.now()));
  }

  async approve(requestId: string, actor: Principal): Promise<Result<ApprovalDecision>> {
    return guard("approve", () => svc.approve(this.env, requestId, actor, Date.now()));
  }

  async reject(requestId: string, reason: string, actor: Principal): Promise<Result<ApprovalView>> {
    return guard("reject", () => svc.reject(this.env, requestId, reason, actor, Date.now()));
  }

  async listApprovals(filter: { status?: ApprovalStatus }): Promise<Result<ApprovalView[]>> {
    return guard("listApprovals", () => svc.listApprovals(this.env, filter, Date.now()));
  }

  async getApproval(requestId: string): Promise<Result<ApprovalView>> {
    return guard("getApproval", () => svc.getApproval(this.env, requestId, Date.now()));
  }

  async reissueReceipt(requestId: string, actor: Principal): Promise<Result<ApprovalDecision>> {
    return guard("reissueReceipt", () => svc.reissueReceipt(this.env, requestId, actor, Date.now()));
  }

  async applyStrategyApproval(
    receipt: ApprovalReceiptRef,
    action: "strategy.go_live" | "strategy.allocation_increase",
    payload: unknown,
    actor: Principal,
  ): Promise<Result<StrategyView>> {
    return guard("applyStrategyApproval", () =>
      svc.applyStrategyApproval(this.env, receipt, action, payload, actor, Date.now()),
    );
  }

  async listRosters(): Promise<Result<RosterListing[]>> {
    return guard("listRosters", () => svc.listRosters(this.env, Date.now()));
  }

  async applyRosterChange(
    receipt: ApprovalReceiptRef,
    payload: unknown,
    actor: Principal,
  ): Promise<Result<ApproverRoster>> {
    return guard("applyRosterChange", () =>
      svc.applyRosterChange(this.env, receipt, payload, actor, Date.now()),
    );
  }

  async createStrategy(input: StrategyCreateInput, actor: Principal): Promise<Result<StrategyView>> {
    return guard("createStrategy", () => svc.createStrategy(this.env, input, actor, Date.now()));
  }

  async listStrategies(): Promise<Result<StrategyView[]>> {
    return guard("listStrategies", async () => ok(await strategies.listStrategies(this.env.D1_GOVERNANCE)));
  }

  async transitionStrategy(
    strategyId: string,
    to: "paper" | "paused" | "retired",
    actor: Principal,
  ): Promise<Result<StrategyView>> {
    return guard("transitionStrategy", () =>
      svc.transitionStrategy(this.env, strategyId, to, actor, Date.now()),
    );
  }

  async requestGoLive(
    strategyId: string,
    actor: Principal,
  ): Promise<Result<{ strategy: StrategyView; request: ApprovalView }>> {
    return guard("requestGoLive", () => svc.requestGoLive(this.env, strategyId, actor, Date.now()));
  }

  async listPairs(filter: { review?: "pending" | "approved" | "rejected" }): Promise<Result<PairView[]>> {
    return guard("listPairs", async () => {
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
    return guard("assessPair", () => svc.assessPair(this.env, pairId, actor, Date.now));
  }

  async reviewPair(pairId: string, review: PairReviewInput, actor: Principal): Promise<Result<PairView>> {
    return guard("reviewPair", () => svc.reviewPair(this.env, pairId, review, actor, Date.now()));
  }

  async assessPending(actor: Principal, limit = 20): Promise<Result<{ assessed: number }>> {
    const who = parseInput(Principal, actor);
    if (!who.ok) return who;
    const bounded = Math.min(Math.max(Math.trunc(Number(limit) || 20), 1), 100);
    return guard("assessPending", async () =>
      ok({ assessed: await svc.assessPending(this.env, who.value, Date.now, bounded) }),
    );
  }

  /** Every ten minutes: assess a few candidates nobody has assessed yet. */
  override async scheduled(_controller: ScheduledController): Promise<void> {
    const done = await svc.assessPending(this.env, systemPrincipal("cron:governance"), Date.now);
    if (done > 0) console.log(`governance cron assessed ${done} pair(s)`);
  }
}

export default GovernanceEntrypoint;
