import {
  type AppliedApproval,
  type ApprovalReceiptRef,
  type CapitalChange,
  type CapitalView,
  ErrorCode,
  err,
  ok,
  type Principal,
  type Result,
  type RiskLimits,
  type RiskLimitsView,
} from "@paulp/contracts";
import { auditAppend, formatDollars, orNull, parseDollars, RedeemedButNotApplied } from "@paulp/kit";
import { applyCapitalChange, parseLimits, raisedLimits, valuation } from "@paulp/risk-rules";
import type { Env } from "./env";
import { afterChange } from "./governor-portfolio";
import type { GovernorState } from "./governor-state";
import { redeemApproval } from "./redeem";

// The two-person changes risk applies: its limits and its capital base. Lowering applies at once; raising needs
// a redeemed receipt, and a failure after the redemption hands the receipt back (`RedeemedButNotApplied`, which
// the caller settles). Each runs inside the governor's serial queue; the clock is passed in.

/** What a change works on: the governor's state and storage, its bindings and the clock. */
export interface AdminScope {
  st: GovernorState;
  storage: DurableObjectStorage;
  env: Env;
  clock: () => number;
}

/** Lowering applies at once; raising needs a redeemed `risk.limits_increase` receipt for exactly `{ limits }`. */
export async function changeLimits(
  scope: AdminScope,
  limits: RiskLimits,
  actor: Principal,
  receipt: ApprovalReceiptRef | undefined,
): Promise<Result<RiskLimitsView> | RedeemedButNotApplied> {
  const { st, storage, env, clock } = scope;
  const next = parseLimits(limits, st.limits.version + 1);
  if (!next) return err(ErrorCode.validationFailed, "limits do not parse");
  const raised = raisedLimits(st.limits.limits, limits);
  let approval: AppliedApproval | null = null;
  if (raised.length > 0) {
    if (!receipt) {
      return err(ErrorCode.approvalRequired, `raising ${raised.join(", ")} needs a two-person approval`, {
        action: "risk.limits_increase",
        payload: { limits },
        raised,
      });
    }
    const redeemed = await redeemApproval(env.GOVERNANCE, receipt, "risk.limits_increase", { limits }, actor);
    if (!redeemed.ok) return redeemed;
    approval = { ...redeemed.value };
  }
  const view: RiskLimitsView = {
    version: st.limits.version + 1,
    limits,
    updatedAt: new Date(clock()).toISOString(),
    updatedBy: `${actor.method}:${actor.subject}`,
  };
  const appended = await auditAppend(env.AUDIT, {
    type: "risk.limits_changed",
    service: "risk",
    actor,
    payload: {
      fromVersion: st.limits.version,
      toVersion: view.version,
      previous: st.limits.limits,
      limits,
      raised,
      approval,
    },
  });
  if (!appended.ok) {
    const failure = {
      code: ErrorCode.auditUnavailable,
      message: `limits not changed: ${appended.error.message}`,
    };
    return receipt && raised.length > 0
      ? new RedeemedButNotApplied(receipt, failure)
      : err(failure.code, failure.message);
  }
  st.limits = view;
  st.parsed = next;
  await storage.put("limits", view);
  return ok(view);
}

/**
 * Set the capital base. Lowering applies at once; raising (or the first allocation) is a
 * capital-allocation increase and needs a redeemed `risk.capital_increase` receipt for exactly `change`.
 */
export async function changeCapital(
  scope: AdminScope,
  change: CapitalChange,
  actor: Principal,
  receipt: ApprovalReceiptRef | undefined,
): Promise<Result<CapitalView> | RedeemedButNotApplied> {
  const { st, storage, env, clock } = scope;
  const target = orNull(() => parseDollars(change.equity));
  if (target === null || target <= 0)
    return err(ErrorCode.validationFailed, "equity must be a positive amount");
  const current = st.portfolio.startingEquity === null ? null : valuation(st.portfolio).equity;
  if (st.portfolio.startingEquity !== null && current === null)
    return err(
      ErrorCode.conflict,
      "current equity is unknown (an open position has no mark): capital not changed",
    );
  const raising = current === null || target > current;
  let approval: AppliedApproval | null = null;
  if (raising) {
    if (!receipt) {
      return err(ErrorCode.approvalRequired, "raising the capital base needs a two-person approval", {
        action: "risk.capital_increase",
        payload: change,
      });
    }
    const redeemed = await redeemApproval(env.GOVERNANCE, receipt, "risk.capital_increase", change, actor);
    if (!redeemed.ok) return redeemed;
    approval = { ...redeemed.value };
  }
  const now = clock();
  const appended = await auditAppend(env.AUDIT, {
    type: "risk.capital_changed",
    service: "risk",
    actor,
    payload: {
      previousEquity: current === null ? null : formatDollars(current, 2, "trunc"),
      equity: formatDollars(target, 2, "trunc"),
      approval,
    },
  });
  // From here a failure gives a redeemed receipt back: the raise did not happen.
  const fail = (code: string, message: string): Result<CapitalView> | RedeemedButNotApplied =>
    raising && receipt ? new RedeemedButNotApplied(receipt, { code, message }) : err(code, message);
  if (!appended.ok) return fail(ErrorCode.auditUnavailable, `capital not changed: ${appended.error.message}`);
  // Fills may have moved equity during the awaits: a change approved as a lowering must still be one.
  const nowEquity = st.portfolio.startingEquity === null ? null : valuation(st.portfolio).equity;
  if (!raising && (nowEquity === null || target > nowEquity))
    return err(ErrorCode.conflict, "equity fell below the requested capital meanwhile: that is now a raise");
  const applied = applyCapitalChange(st.portfolio, target, now);
  if (!applied) return fail(ErrorCode.conflict, "current equity became unknown: capital not changed");
  // Cash and watermarks moved: the view is rebuilt (a rare change, not a hot path).
  st.view = null;
  await afterChange(st, storage, now);
  return ok({
    equity: formatDollars(target, 2, "trunc"),
    previousEquity: applied.previous === null ? null : formatDollars(applied.previous, 2, "trunc"),
    changedBy: `${actor.method}:${actor.subject}`,
    changedAt: new Date(now).toISOString(),
  });
}
