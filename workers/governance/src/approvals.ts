// Two-person approvals: rosters (seeded once from config, changed only by an approved roster change) and the
// requests on the desk (open, approve, reject, reissue, list). Redeeming and returning live in desk-client.ts.
import {
  type ApprovalAction,
  ApprovalAction as ApprovalActionSchema,
  type ApprovalDecision,
  type ApprovalRequestInput,
  type ApprovalStatus,
  type ApprovalView,
  type ApproverRoster,
  ErrorCode,
  err,
  type JsonValue,
  ok,
  type Result,
  RosterChangePayload,
  type RosterListing,
  type StrategyAllocationPayload,
  systemPrincipal,
} from "@paulp/contracts";
import { parseInput, randomId } from "@paulp/kit";
import { ACTION_PAYLOADS } from "./actions";
import { actorLabel } from "./actors";
import { applyOrReturn, auditRefusal, openOnDesk, redeemReceipt, requireIntegrity } from "./desk-client";
import type { Env } from "./env";
import {
  type Act,
  audit,
  type Context,
  type DeskApi,
  hashToken,
  iso,
  onDesk,
  presentedReceipt,
  requirePerson,
} from "./operation-support";
import { checkRoster, configuredRoster } from "./roster";
import * as rosters from "./rosters";
import * as strategies from "./strategies";
import { compareDollars } from "./strategy-lifecycle";
import { endedGoLive } from "./strategy-ops";

const ROSTER_ACTOR = systemPrincipal("governance:roster");

/**
 * The roster of `action`. The first time an action is used its roster is set from `APPROVER_ROSTER`, once,
 * audited (`governance.roster_seeded`); from then on that config is never read for it again, and only an
 * approved `governance.roster_change` alters it. No roster (config missing, empty, malformed, or naming fewer
 * than two people) refuses every request and approval of the action: fail closed.
 */
export async function rosterOf(
  env: Env,
  action: ApprovalAction,
  now: number,
): Promise<Result<ApproverRoster>> {
  const stored = await rosters.getRoster(env.D1_GOVERNANCE, action);
  if (stored) return ok(stored);
  const seed = configuredRoster(env.APPROVER_ROSTER, action);
  if (!seed.ok)
    return err(
      ErrorCode.serviceUnavailable,
      `no approver roster for ${action}: ${seed.message} (two-person actions fail closed; see docs/governance.md)`,
    );
  const audited = await audit(env, "governance.roster_seeded", ROSTER_ACTOR, {
    action,
    approvers: seed.approvers,
    version: 1,
    source: "config",
  });
  if (!audited.ok) return audited;
  await rosters.insertFirstRoster(
    env.D1_GOVERNANCE,
    action,
    seed.approvers,
    actorLabel(ROSTER_ACTOR),
    iso(now),
  );
  const set = await rosters.getRoster(env.D1_GOVERNANCE, action);
  return set ? ok(set) : err(ErrorCode.internal, `roster of ${action} could not be read back`);
}

/** Actions with neither a stored roster nor a usable first roster in config (health: none may be listed). */
export async function actionsWithoutRoster(env: Env): Promise<ApprovalAction[]> {
  const stored = new Set((await rosters.listRosters(env.D1_GOVERNANCE)).map((r) => r.action));
  return ApprovalActionSchema.options.filter(
    (action) => !stored.has(action) && !configuredRoster(env.APPROVER_ROSTER, action).ok,
  );
}

/** Every action's roster, or why it has none. */
export async function listRosters({ env, now }: Context): Promise<Result<RosterListing[]>> {
  const listing: RosterListing[] = [];
  for (const action of ApprovalActionSchema.options) {
    const roster = await rosterOf(env, action, now);
    listing.push(
      roster.ok
        ? { action, roster: roster.value, error: null }
        : { action, roster: null, error: { code: roster.error.code, message: roster.error.message } },
    );
  }
  return ok(listing);
}

/**
 * A roster change as it is requested and stored: canonical addresses, sorted, each once; refused when it names
 * fewer than two people or when the roster moved past `version` (nobody approves a change of an older roster).
 */
async function checkRosterChange(
  { env, now }: Context,
  payload: RosterChangePayload,
): Promise<Result<{ change: RosterChangePayload; current: ApproverRoster }>> {
  const checked = checkRoster(payload.approvers);
  if (!checked.ok) return err(ErrorCode.validationFailed, `approvers: ${checked.message}`);
  const current = await rosterOf(env, payload.action, now);
  if (!current.ok) return current;
  if (current.value.version !== payload.version)
    return err(
      ErrorCode.conflict,
      `the roster of ${payload.action} is at version ${current.value.version}, not ${payload.version}: request the change again`,
    );
  return ok({ change: { ...payload, approvers: checked.approvers }, current: current.value });
}

/**
 * Apply `governance.roster_change` with its receipt: checked against the roster, redeemed, then written. The
 * receipt and payload are as the applier sent them: the payload is parsed here and hashed as sent at the
 * redemption; the receipt is judged when redeemed, so a change that cannot apply is refused as such.
 */
export async function applyRosterChange(
  act: Act,
  presented: unknown,
  payload: unknown,
): Promise<Result<ApproverRoster>> {
  const { env, now, actor } = act;
  const p = parseInput(RosterChangePayload, payload);
  if (!p.ok) return p;
  const checked = await checkRosterChange(act, p.value);
  if (!checked.ok) return checked;
  const { change, current } = checked.value;
  const receipt = presentedReceipt(presented, "receipt refused");
  if (!receipt.ok) return receipt;
  const redeemed = await redeemReceipt(act, receipt.value, "governance.roster_change", payload);
  if (!redeemed.ok) return redeemed;
  return applyOrReturn(act, receipt.value, "the roster (GET /admin/approvers)", async () => {
    const audited = await audit(env, "governance.roster_changed", actor, {
      action: change.action,
      fromVersion: current.version,
      toVersion: current.version + 1,
      previous: current.approvers,
      approvers: change.approvers,
      requestId: redeemed.value.requestId,
      approvedBy: redeemed.value.approvers,
    });
    if (!audited.ok) return audited;
    const next = await rosters.replaceRoster(
      env.D1_GOVERNANCE,
      current,
      change.approvers,
      redeemed.value.requestId,
      actorLabel(actor),
      iso(now),
    );
    return next ? ok(next) : err(ErrorCode.conflict, "the roster changed meanwhile; nothing applied");
  });
}

/** Open a two-person request (persons only; strategy go-live goes through requestGoLive). */
export async function requestApproval(
  act: Act,
  request: ApprovalRequestInput,
): Promise<Result<ApprovalView>> {
  const { env, actor } = act;
  const person = requirePerson(actor, "request a two-person action");
  if (!person.ok) {
    await auditRefusal(env, { step: "open", requestId: null, action: request.action }, actor, person.error);
    return person;
  }
  const { action } = request;
  if (action === "strategy.go_live") {
    return err(ErrorCode.badRequest, "request strategy go-live with POST /admin/strategies/:id/go-live");
  }
  const payload = parseInput(ACTION_PAYLOADS[action], request.payload);
  if (!payload.ok) return payload;
  let value = payload.value as JsonValue;
  if (action === "strategy.allocation_increase") {
    const p = payload.value as StrategyAllocationPayload;
    const s = await strategies.getStrategy(env.D1_GOVERNANCE, p.strategyId);
    if (!s) return err(ErrorCode.notFound, `no strategy ${p.strategyId}`);
    if (s.state === "retired") return err(ErrorCode.conflict, "strategy is retired");
    if (compareDollars(p.allocation, s.allocation) <= 0) {
      return err(ErrorCode.badRequest, `allocation ${p.allocation} is not an increase over ${s.allocation}`);
    }
  }
  if (action === "governance.roster_change") {
    const checked = await checkRosterChange(act, payload.value as RosterChangePayload);
    if (!checked.ok) return checked;
    // The approved payload is the roster exactly as it will be stored.
    value = checked.value.change;
  }
  return openOnDesk(act, action, value);
}

/**
 * A desk step that may hand out a receipt (approve, reissue): refused unless the chain's integrity is ok, and given
 * the hash of a token minted before the desk's critical section (handed out, as the receipt, only if the step
 * issued one).
 */
async function stepWithToken(
  { env, actor }: Act,
  step: "approve" | "reissue",
  id: string,
  call: (desk: DeskApi, tokenHash: string) => Promise<Result<{ view: ApprovalView; receiptIssued: boolean }>>,
): Promise<Result<ApprovalDecision>> {
  const intact = await requireIntegrity(env, { step, requestId: id, action: null }, actor);
  if (!intact.ok) return intact;
  const token = randomId(32);
  const tokenHash = await hashToken(token);
  const result = await onDesk(env, step, (d) => call(d, tokenHash));
  if (!result.ok) return result;
  return ok({
    request: result.value.view,
    receipt: result.value.receiptIssued ? { requestId: id, receiptToken: token } : null,
  });
}

/** Approve; the approval that reaches the threshold answers the (single-use) receipt. */
export async function approve(act: Act, id: string): Promise<Result<ApprovalDecision>> {
  return stepWithToken(act, "approve", id, (d, tokenHash) => d.approve(id, act.actor, act.now, tokenHash));
}

/** Reject (final). */
export async function reject(act: Act, id: string, why: string): Promise<Result<ApprovalView>> {
  const { env, now, actor } = act;
  const rejected = await onDesk(env, "reject", (d) => d.close(id, "reject", actor, why, now));
  if (!rejected.ok) return rejected;
  const back = await endedGoLive(act, rejected.value);
  if (!back.ok)
    return err(
      back.error.code,
      `request ${id} is rejected, but its strategy is still pending_live: ${back.error.message}; move it with POST /admin/strategies/:id/paper`,
    );
  return rejected;
}

/** A fresh receipt for an approved request whose apply step did not complete. */
export async function reissueReceipt(act: Act, id: string): Promise<Result<ApprovalDecision>> {
  return stepWithToken(act, "reissue", id, async (d, tokenHash) => {
    const reissued = await d.reissue(id, act.actor, act.now, tokenHash);
    return reissued.ok ? ok({ view: reissued.value, receiptIssued: true }) : reissued;
  });
}

/** Requests, newest first (those in `status`, or all). */
export async function listApprovals(
  { env, now }: Context,
  status: ApprovalStatus | undefined,
): Promise<Result<ApprovalView[]>> {
  return onDesk(env, "list", (d) => d.list(status, now));
}

/** One request. */
export async function getApproval({ env, now }: Context, id: string): Promise<Result<ApprovalView>> {
  return onDesk(env, "get", (d) => d.get(id, now));
}
