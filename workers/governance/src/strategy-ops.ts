// Strategy operations: create, direct moves, go-live through the desk, and the approved changes' apply step.
import {
  type ApprovalView,
  type AuditPayload,
  ErrorCode,
  err,
  type GoLiveReplay,
  type JsonValue,
  ok,
  ReplayCitationRefusal,
  type Result,
  StrategyAllocationPayload,
  type StrategyCreateInput,
  type StrategyView,
} from "@paulp/contracts";
import { canonicalHash, parseInput, randomId } from "@paulp/kit";
import { paramsHash } from "@paulp/replay";
import * as v from "valibot";
import { StrategyGoLivePayload } from "./actions";
import { actorLabel } from "./actors";
import { applyOrReturn, auditRefusal, openOnDesk, redeemReceipt } from "./desk-client";
import type { Env } from "./env";
import { type Act, audit, iso, onDesk, presentedReceipt, requirePerson } from "./operation-support";
import * as strategies from "./strategies";
import { checkTransition, compareDollars } from "./strategy-lifecycle";

/** Create a draft strategy. */
export async function createStrategy(
  { env, now, actor }: Act,
  input: StrategyCreateInput,
): Promise<Result<StrategyView>> {
  const id = `stg_${randomId(9)}`;
  const audited = await audit(env, "governance.strategy_created", actor, {
    strategyId: id,
    name: input.name,
    kind: input.kind,
    allocation: input.allocation,
    venues: input.venues,
    paramsHash: await canonicalHash("paulp.strategy.params.v1", input.params),
  });
  if (!audited.ok) return audited;
  return ok(await strategies.insertStrategy(env.D1_GOVERNANCE, id, input, actorLabel(actor), iso(now)));
}

/** The states a strategy is moved to directly, without two-person approval. */
export const DirectMove = v.picklist(["paper", "paused", "retired"]);

/** Direct lifecycle moves (paper, paused, retired). */
export async function transitionStrategy(
  act: Act,
  id: string,
  target: v.InferOutput<typeof DirectMove>,
): Promise<Result<StrategyView>> {
  const current = await strategies.getStrategy(act.env.D1_GOVERNANCE, id);
  if (!current) return err(ErrorCode.notFound, `no strategy ${id}`);
  const move = checkTransition(current.state, target);
  if (!move.ok) return err(ErrorCode.conflict, move.message);
  if (move.via !== "direct" && move.via !== "endsRequest")
    return err(ErrorCode.approvalRequired, `${current.state} → ${target} needs two-person approval`);
  const detail: StrategyMove = { from: current.state, to: target };
  if (move.via === "endsRequest" && current.pendingRequestId) {
    // The request ends first: a strategy that is no longer pending_live has no go-live request open.
    const ended = await endGoLiveRequest(act, current.pendingRequestId, `strategy moved to ${target}`);
    if (!ended.ok) return ended;
    detail.requestId = current.pendingRequestId;
    detail.requestStatus = ended.value;
  }
  return changeStrategy(act, current, { state: target, pendingRequestId: null }, detail);
}

/**
 * Cancel a strategy's open go-live request, answering the status it ends in. A request that already ended
 * (rejected, expired, cancelled) or was executed (its applier's compare-and-set on the strategy then decides
 * which move wins) is left as it is; only a cancel that could not be recorded refuses the move.
 */
async function endGoLiveRequest(
  { env, now, actor }: Act,
  requestId: string,
  reason: string,
): Promise<Result<string>> {
  const cancelled = await onDesk(env, "cancel", (d) => d.close(requestId, "cancel", actor, reason, now));
  if (cancelled.ok) return ok(cancelled.value.status);
  if (cancelled.error.code !== ErrorCode.conflict && cancelled.error.code !== ErrorCode.notFound)
    return err(
      cancelled.error.code,
      `go-live request ${requestId} not cancelled: ${cancelled.error.message}`,
    );
  const current = await onDesk(env, "get", (d) => d.get(requestId, now));
  return ok(current.ok ? current.value.status : "unknown");
}

/**
 * A go-live request ended without going live (rejected, expired): its strategy, if still pending_live on that
 * request, goes back to the state it left (paper or paused), audited like any move. Anything else is left alone.
 */
export async function endedGoLive(act: Act, request: ApprovalView): Promise<Result<StrategyView | null>> {
  const env = act.env;
  if (request.action !== "strategy.go_live") return ok(null);
  if (request.status !== "rejected" && request.status !== "expired") return ok(null);
  const strategyId = (request.payload as { strategyId?: unknown } | null)?.strategyId;
  if (typeof strategyId !== "string") return ok(null);
  const current = await strategies.getStrategy(env.D1_GOVERNANCE, strategyId);
  if (current?.state !== "pending_live" || current.pendingRequestId !== request.requestId) return ok(null);
  const to = await strategies.preLiveState(env.D1_GOVERNANCE, strategyId);
  const move = checkTransition(current.state, to);
  if (!move.ok || move.via !== "endsRequest") return err(ErrorCode.internal, `no move pending_live → ${to}`);
  return changeStrategy(
    act,
    current,
    { state: to, pendingRequestId: null },
    {
      from: current.state,
      to,
      requestId: request.requestId,
      requestStatus: request.status,
    },
  );
}

/** What a strategy change records besides the strategy and its next version. */
type StrategyMove = Omit<AuditPayload<"governance", "governance.strategy_changed">, "strategyId" | "version">;

async function changeStrategy(
  { env, now, actor }: Act,
  current: StrategyView,
  change: Parameters<typeof strategies.updateStrategy>[2],
  detail: StrategyMove,
): Promise<Result<StrategyView>> {
  const audited = await audit(env, "governance.strategy_changed", actor, {
    strategyId: current.id,
    version: current.version + 1,
    ...detail,
  });
  if (!audited.ok) return audited;
  const next = await strategies.updateStrategy(
    env.D1_GOVERNANCE,
    current,
    change,
    actorLabel(actor),
    iso(now),
  );
  if (!next) return err(ErrorCode.conflict, "strategy changed concurrently; reload and retry");
  return ok(next);
}

/** Open the go-live request and move the strategy to pending_live. */
export async function requestGoLive(
  act: Act,
  id: string,
  replay: GoLiveReplay,
): Promise<Result<{ strategy: StrategyView; request: ApprovalView }>> {
  const { env, actor } = act;
  const person = requirePerson(actor, "request go-live");
  if (!person.ok) {
    await auditRefusal(
      env,
      { step: "open", requestId: null, action: "strategy.go_live" },
      actor,
      person.error,
    );
    return person;
  }
  const current = await strategies.getStrategy(env.D1_GOVERNANCE, id);
  if (!current) return err(ErrorCode.notFound, `no strategy ${id}`);
  const move = checkTransition(current.state, "pending_live");
  if (!move.ok) return err(ErrorCode.conflict, move.message);
  // The gateway checked the citation against the replay's record; the params it names must be these, here too.
  const currentParams = await paramsHash(current.params as Record<string, JsonValue>);
  if (replay.paramsHash !== currentParams) {
    return err(
      ErrorCode.replayCitationRefused,
      `the cited replay ran other params than strategy ${id} has now: replay it again`,
      { reason: ReplayCitationRefusal.paramsChanged },
    );
  }
  // The payload names the version the strategy will have once pending_live, so any later edit voids it.
  const payload = {
    strategyId: current.id,
    version: current.version + 1,
    allocation: current.allocation,
    venues: current.venues,
    replay,
  };
  const request = await openOnDesk(act, "strategy.go_live", payload);
  if (!request.ok) return request;
  const strategy = await changeStrategy(
    act,
    current,
    {
      state: "pending_live",
      pendingRequestId: request.value.requestId,
      preLiveState: current.state === "paused" ? "paused" : "paper",
    },
    {
      from: current.state,
      to: "pending_live",
      requestId: request.value.requestId,
    },
  );
  if (!strategy.ok) {
    // No strategy waits on this request: end it, so nobody approves a go-live that cannot apply.
    await endGoLiveRequest(act, request.value.requestId, "strategy did not move to pending_live");
    return strategy;
  }
  return ok({ strategy: strategy.value, request: request.value });
}

/** The two-person strategy actions governance applies itself. */
export const StrategyApprovalAction = v.picklist(["strategy.go_live", "strategy.allocation_increase"]);

/**
 * Apply a strategy action with its receipt: checked against the strategy first, then redeemed, then applied. The
 * receipt and payload are as the applier sent them: the payload is hashed as sent at the redemption and parsed as
 * its action's by the check; the receipt is judged when redeemed, so a change that cannot apply is refused as such.
 */
export async function applyStrategyApproval(
  act: Act,
  presented: unknown,
  action: v.InferOutput<typeof StrategyApprovalAction>,
  payload: unknown,
): Promise<Result<StrategyView>> {
  const env = act.env;
  const checked =
    action === "strategy.go_live"
      ? await checkGoLive(env, payload)
      : await checkAllocationIncrease(env, payload);
  if (!checked.ok) return checked;
  const { current, change, detail } = checked.value;
  const receipt = presentedReceipt(presented, "receipt refused");
  if (!receipt.ok) return receipt;
  const redeemed = await redeemReceipt(act, receipt.value, action, payload);
  if (!redeemed.ok) return redeemed;
  return applyOrReturn(act, receipt.value, STRATEGY_CHECK, () =>
    changeStrategy(act, current, change, {
      ...detail,
      requestId: redeemed.value.requestId,
      approvers: redeemed.value.approvers,
    }),
  );
}

/** An approved strategy change checked against the strategy as it is now, before its receipt is redeemed. */
type CheckedChange = Result<{
  current: StrategyView;
  change: Parameters<typeof strategies.updateStrategy>[2];
  detail: StrategyMove;
}>;

/** Going live: the strategy still pending_live, at the version, allocation and venues that were approved. */
async function checkGoLive(env: Env, payload: unknown): Promise<CheckedChange> {
  const p = parseInput(StrategyGoLivePayload, payload);
  if (!p.ok) return p;
  const current = await strategies.getStrategy(env.D1_GOVERNANCE, p.value.strategyId);
  if (!current) return err(ErrorCode.notFound, `no strategy ${p.value.strategyId}`);
  const move = checkTransition(current.state, "live");
  if (!move.ok) return err(ErrorCode.conflict, move.message);
  if (
    current.version !== p.value.version ||
    current.allocation !== p.value.allocation ||
    current.venues.join() !== p.value.venues.join()
  ) {
    return err(ErrorCode.conflict, "strategy changed since go-live was requested; request go-live again");
  }
  return ok({
    current,
    change: { state: "live", pendingRequestId: null },
    detail: { from: current.state, to: "live" },
  });
}

/** Raising the allocation: the strategy not retired, and the approved allocation still above its own. */
async function checkAllocationIncrease(env: Env, payload: unknown): Promise<CheckedChange> {
  const p = parseInput(v.strictObject(StrategyAllocationPayload.entries), payload);
  if (!p.ok) return p;
  const current = await strategies.getStrategy(env.D1_GOVERNANCE, p.value.strategyId);
  if (!current) return err(ErrorCode.notFound, `no strategy ${p.value.strategyId}`);
  if (current.state === "retired") return err(ErrorCode.conflict, "strategy is retired");
  // Still an increase now: an older approval applied after a newer, larger one must not lower it.
  if (compareDollars(p.value.allocation, current.allocation) <= 0)
    return err(
      ErrorCode.conflict,
      `allocation ${p.value.allocation} is no longer an increase over ${current.allocation}; nothing applied`,
    );
  return ok({
    current,
    change: { allocation: p.value.allocation },
    detail: { allocationFrom: current.allocation, allocationTo: p.value.allocation },
  });
}

const STRATEGY_CHECK = "the strategy (GET /admin/strategies)";
