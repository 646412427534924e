import {
  type CapitalChange,
  type CapitalView,
  ErrorCode,
  err,
  ok,
  type Result,
  type RiskLimits,
  type RiskLimitsView,
} from "@paulp/contracts";
import { auditAppend, formatDollars, orNull, parseDollars, RedeemedButNotApplied } from "@paulp/kit";
import { applyCapitalChange, parseLimits, raisedLimits, valuation } from "@paulp/risk-rules";
import type { Env } from "./env";
import { afterChange } from "./governor-portfolio";
import type { GovernorState } from "./governor-state";
import { type NeededApproval, type RedeemedApproval, requireApproval, type TwoPersonChange } from "./redeem";

// The two-person changes risk applies: its limits and its capital base. Lowering applies at once; raising needs
// a redeemed receipt, and a failure after the redemption hands the receipt back (`RedeemedButNotApplied`, which
// the caller settles). Each runs inside the governor's serial queue; the clock is passed in.

/** A change past its gate: the approval the audit records (null for a lowering) and how a later failure reads. */
interface PassedGate {
  approval: RedeemedApproval | null;
  /** A failure after the gate: a receipt redeemed for a raise goes back with it (the raise did not happen). */
  fail<T>(code: string, message: string): Result<T> | RedeemedButNotApplied;
}

/**
 * The gate of a two-person change: a raise (`needed`) passes only with the receipt redeemed for exactly that
 * action and payload (`approval_required` without one); a lowering (`needed` null) passes at once.
 */
async function passGate(
  env: Env,
  [, actor, receipt]: TwoPersonChange<unknown>,
  needed: NeededApproval | null,
): Promise<Result<PassedGate>> {
  if (!needed) return ok({ approval: null, fail: (code, message) => err(code, message) });
  const approval = await requireApproval(env.GOVERNANCE, receipt, actor, needed);
  if (!approval.ok) return approval;
  // requireApproval redeemed a receipt, so there is one to give back.
  const redeemed = receipt!;
  return ok({
    approval: approval.value,
    fail: (code, message) => new RedeemedButNotApplied(redeemed, { code, message }),
  });
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
  { st, storage, env, clock }: AdminScope,
  asked: TwoPersonChange<RiskLimits>,
): Promise<Result<RiskLimitsView> | RedeemedButNotApplied> {
  const [limits, actor] = asked;
  const next = parseLimits(limits, st.limits.version + 1);
  if (!next) return err(ErrorCode.validationFailed, "limits do not parse");
  const raised = raisedLimits(st.limits.limits, limits);
  const gate = await passGate(
    env,
    asked,
    raised.length > 0
      ? {
          action: "risk.limits_increase",
          payload: { limits },
          refusal: `raising ${raised.join(", ")} needs a two-person approval`,
          details: { raised },
        }
      : null,
  );
  if (!gate.ok) return gate;
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
      approval: gate.value.approval,
    },
  });
  if (!appended.ok)
    return gate.value.fail(ErrorCode.auditUnavailable, `limits not changed: ${appended.error.message}`);
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
  { st, storage, env, clock }: AdminScope,
  asked: TwoPersonChange<CapitalChange>,
): Promise<Result<CapitalView> | RedeemedButNotApplied> {
  const [change, actor] = asked;
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
  const gate = await passGate(
    env,
    asked,
    raising
      ? {
          action: "risk.capital_increase",
          payload: change,
          refusal: "raising the capital base needs a two-person approval",
        }
      : null,
  );
  if (!gate.ok) return gate;
  const now = clock();
  const appended = await auditAppend(env.AUDIT, {
    type: "risk.capital_changed",
    service: "risk",
    actor,
    payload: {
      previousEquity: current === null ? null : formatDollars(current, 2, "trunc"),
      equity: formatDollars(target, 2, "trunc"),
      approval: gate.value.approval,
    },
  });
  // From here a failure gives a redeemed receipt back: the raise did not happen.
  const { fail } = gate.value;
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
