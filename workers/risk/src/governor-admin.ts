import {
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
import { requireApproval } from "./redeem";

// The two-person changes risk applies: its limits and its capital base. Lowering applies at once; raising needs
// a redeemed receipt, and a failure after the redemption hands the receipt back (`RedeemedButNotApplied`, which
// the caller settles). Each runs inside the governor's serial queue; the clock is passed in.

/** A failure after the gate: the receipt `redeemed` for a raise goes back with it (the raise did not happen). */
function failAfterGate<T>(
  redeemed: ApprovalReceiptRef | undefined,
  code: string,
  message: string,
): Result<T> | RedeemedButNotApplied {
  return redeemed ? new RedeemedButNotApplied(redeemed, { code, message }) : err(code, message);
}

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
  const approval =
    raised.length > 0
      ? await requireApproval(env.GOVERNANCE, receipt, actor, {
          action: "risk.limits_increase",
          payload: { limits },
          refusal: `raising ${raised.join(", ")} needs a two-person approval`,
          details: { raised },
        })
      : ok(null);
  if (!approval.ok) return approval;
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
      approval: approval.value,
    },
  });
  if (!appended.ok)
    return failAfterGate(
      raised.length > 0 ? receipt : undefined,
      ErrorCode.auditUnavailable,
      `limits not changed: ${appended.error.message}`,
    );
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
  const approval = raising
    ? await requireApproval(env.GOVERNANCE, receipt, actor, {
        action: "risk.capital_increase",
        payload: change,
        refusal: "raising the capital base needs a two-person approval",
      })
    : ok(null);
  if (!approval.ok) return approval;
  const now = clock();
  const appended = await auditAppend(env.AUDIT, {
    type: "risk.capital_changed",
    service: "risk",
    actor,
    payload: {
      previousEquity: current === null ? null : formatDollars(current, 2, "trunc"),
      equity: formatDollars(target, 2, "trunc"),
      approval: approval.value,
    },
  });
  // From here a failure gives a redeemed receipt back: the raise did not happen.
  const fail = (code: string, message: string) =>
    failAfterGate<CapitalView>(raising ? receipt : undefined, code, message);
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
