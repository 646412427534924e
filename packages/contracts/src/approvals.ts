import * as v from "valibot";
import { RosterChangePayload } from "./approval-requests";
import { BreakerTransitionRequest } from "./breaker";
import { ExecutionPolicyChange } from "./execution";
import { IntFrom, NonEmptyText } from "./fields";
import { StrategyAllocationPayload } from "./governance";
import { GoLiveReplay } from "./replay";
import { StrategyId } from "./risk";
import { CapitalChange, RiskLimits } from "./risk-admin";

/** `strategy.go_live` payload: exactly the configuration that goes live (governance builds it from the row). */
export const StrategyGoLiveApproval = v.strictObject({
  strategyId: StrategyId,
  version: IntFrom(1),
  allocation: v.string(),
  venues: v.array(v.string()),
  /** The replay this go-live cites (#18), with the summary the approvers saw; re-checked at apply. */
  replay: GoLiveReplay,
});

/**
 * Each two-person action with the exact payload it carries, one variant on `action`: the desk checks a request's
 * payload against it when the request opens (so nobody collects two approvals for something the applier would
 * refuse), and the gateway narrows an approved request with it to hand each applier its typed payload.
 */
export const ApprovalActionPayload = v.variant("action", [
  v.object({ action: v.literal("strategy.go_live"), payload: StrategyGoLiveApproval }),
  v.object({
    action: v.literal("strategy.allocation_increase"),
    payload: v.strictObject(StrategyAllocationPayload.entries),
  }),
  v.object({ action: v.literal("risk.limits_increase"), payload: v.strictObject({ limits: RiskLimits }) }),
  v.object({ action: v.literal("risk.capital_increase"), payload: CapitalChange }),
  v.object({
    action: v.literal("execution.policy_live"),
    payload: v.pipe(
      ExecutionPolicyChange,
      v.check((c) => c.mode === "live", "execution.policy_live must move to mode live"),
    ),
  }),
  // Bound to one RECOVERY (its breaker version): approvals given for an earlier recovery cannot end a later one.
  v.object({
    action: v.literal("breaker.recovery_to_normal"),
    payload: v.pipe(
      BreakerTransitionRequest,
      v.check((r) => r.targetState === "NORMAL", "breaker.recovery_to_normal must target NORMAL"),
      v.check(
        (r) => r.expectedVersion !== undefined,
        "breaker.recovery_to_normal needs expectedVersion: the breaker version of the RECOVERY it ends",
      ),
    ),
  }),
  // Names the roster version it replaces: approvals given for a change of an older roster cannot apply.
  v.object({ action: v.literal("governance.roster_change"), payload: RosterChangePayload }),
]);
/** A two-person action with its typed payload. */
export type ApprovalActionPayload = v.InferOutput<typeof ApprovalActionPayload>;

/** The payload schema of one action (the variant's option for it). */
export function approvalPayloadSchema(action: ApprovalActionPayload["action"]): v.GenericSchema {
  const option = ApprovalActionPayload.options.find((o) => o.entries.action.literal === action);
  if (!option) throw new Error(`no payload schema for ${action}`);
  return option.entries.payload;
}

/**
 * A desk receipt as every applier parses it (risk, execution and governance take it beside the change it
 * approves). `receiptToken` is the random secret minted when the request reached its approval threshold.
 */
export const ApprovalReceipt = v.object({
  requestId: NonEmptyText(128),
  receiptToken: NonEmptyText(256),
});
