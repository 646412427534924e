// The exact payload each two-person action carries, checked when the request is opened, so an
// operator cannot collect two approvals for something the applier would refuse anyway.
import {
  type ApprovalAction,
  BreakerTransitionRequest,
  CapitalChange,
  ExecutionPolicyChange,
  RiskLimits,
  RosterChangePayload,
  StrategyAllocationPayload,
} from "@paulp/contracts";
import * as v from "valibot";

/** `strategy.go_live` payload (built by governance itself from the strategy row). */
export const StrategyGoLivePayload = v.strictObject({
  strategyId: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  version: v.pipe(v.number(), v.integer(), v.minValue(1)),
  allocation: v.string(),
  venues: v.array(v.string()),
});

/** The payload schema of each action. */
export const ACTION_PAYLOADS: Record<ApprovalAction, v.GenericSchema> = {
  "strategy.go_live": StrategyGoLivePayload,
  "strategy.allocation_increase": v.strictObject(StrategyAllocationPayload.entries),
  "risk.limits_increase": v.strictObject({ limits: RiskLimits }),
  "risk.capital_increase": CapitalChange,
  "execution.policy_live": v.pipe(
    ExecutionPolicyChange,
    v.check((c) => c.mode === "live", "execution.policy_live must move to mode live"),
  ),
  // Bound to one RECOVERY (its breaker version): approvals given for an earlier recovery cannot end a later one.
  "breaker.recovery_to_normal": v.pipe(
    BreakerTransitionRequest,
    v.check((r) => r.targetState === "NORMAL", "breaker.recovery_to_normal must target NORMAL"),
    v.check(
      (r) => r.expectedVersion !== undefined,
      "breaker.recovery_to_normal needs expectedVersion: the breaker version of the RECOVERY it ends",
    ),
  ),
  // Names the roster version it replaces: approvals given for a change of an older roster cannot apply.
  "governance.roster_change": RosterChangePayload,
};

/** Domain separation for approval payload hashes. */
export const PAYLOAD_HASH_DOMAIN = "paulp.approval.payload.v1";
/** Domain separation for receipt token hashes. */
export const RECEIPT_HASH_DOMAIN = "paulp.approval.receipt.v1";
