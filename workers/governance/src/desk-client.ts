// Calls to the approval desk that other operations build on: the integrity gate, opening a request, redeeming and
// returning a receipt, and applying after a redemption (the receipt goes back if the apply changed nothing).
import {
  type ApiError,
  type ApprovalAction,
  ApprovalAction as ApprovalActionSchema,
  type ApprovalView,
  type AuditStatus,
  ErrorCode,
  err,
  type JsonValue,
  ok,
  Principal,
  type Result,
  type VerifiedApproval,
} from "@paulp/contracts";
import { afterReturn, parseArgs, randomId, returnReason } from "@paulp/kit";
import * as v from "valibot";
import { type RefusalContext, refusalPayload } from "./desk";
import type { Env } from "./env";
import { audit, hashPayload, onDesk, receiptClaim } from "./operation-support";

/** Audit a refused desk step (`governance.approval_refused`, outcome `denied`); the refusal stands either way. */
export async function auditRefusal(
  env: Env,
  about: RefusalContext,
  actor: Principal,
  error: ApiError,
): Promise<void> {
  const audited = await audit(env, "governance.approval_refused", actor, refusalPayload(about, error));
  if (!audited.ok) console.error(`desk refusal not audited: ${audited.error.message}`);
}

/**
 * Dangerous actions (every two-person action) proceed only while the audit chain's integrity is `ok`: checked
 * when a request opens, at each approval, at a re-run, and when an applier redeems its receipt, just before it
 * writes (the state may have changed since the approval). `broken`, `unknown` (never verified) and an audit
 * that cannot answer all refuse; nothing is spent, so the approved request can be re-run once it is `ok`.
 */
export async function requireIntegrity(
  env: Env,
  about: RefusalContext,
  actor: Principal,
): Promise<Result<null>> {
  let refusal: ApiError;
  try {
    const status = (await env.AUDIT.status()) as Result<AuditStatus>;
    if (status.ok && status.value.integrity === "ok") return ok(null);
    refusal = !status.ok
      ? {
          code: ErrorCode.auditUnavailable,
          message: `audit integrity unknown (${status.error.message}): two-person actions are refused`,
        }
      : {
          code: ErrorCode.integrityNotOk,
          message:
            status.value.integrity === "broken"
              ? "audit chain integrity is broken: two-person actions are refused until a full verification passes (POST /admin/audit/verify)"
              : "audit chain integrity is not yet verified: two-person actions are refused until a verification passes (POST /admin/audit/verify)",
          details: { integrity: status.value.integrity },
        };
  } catch (error) {
    refusal = {
      code: ErrorCode.auditUnavailable,
      message: `audit status unavailable (${(error as Error).message}): two-person actions are refused`,
    };
  }
  await auditRefusal(env, about, actor, refusal);
  return { ok: false, error: refusal };
}

export async function openOnDesk(
  env: Env,
  action: ApprovalAction,
  payload: JsonValue,
  actor: Principal,
  now: number,
): Promise<Result<ApprovalView>> {
  const hash = await hashPayload(payload);
  if (!hash.ok) return hash;
  const intact = await requireIntegrity(env, { step: "open", requestId: null, action }, actor);
  if (!intact.ok) return intact;
  return onDesk(env, "open", (d) =>
    d.open(
      { requestId: `apr_${randomId(12)}`, action, payload, payloadHash: hash.value, requester: actor },
      now,
    ),
  );
}

/** Verify and consume a receipt for exactly this action and payload. */
export async function redeemReceipt(
  env: Env,
  receiptIn: unknown,
  actionIn: unknown,
  payload: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<VerifiedApproval>> {
  const receipt = await receiptClaim(receiptIn, "receipt refused");
  if (!receipt.ok) return receipt;
  const input = parseArgs([ApprovalActionSchema, Principal], [actionIn, actorIn]);
  if (!input.ok) return input;
  const [action, actor] = input.value;
  const payloadHash = await hashPayload(payload);
  if (!payloadHash.ok) return payloadHash;
  // The apply-time check: every applier redeems right before it writes, so this is the last look.
  const intact = await requireIntegrity(
    env,
    { step: "redeem", requestId: receipt.value.requestId, action },
    actor,
  );
  if (!intact.ok) return intact;
  const { requestId, tokenHash } = receipt.value;
  const result = await onDesk(env, "redeem", (d) =>
    d.redeem(requestId, { tokenHash, action, payloadHash: payloadHash.value, actor }, now),
  );
  if (!result.ok) return result;
  const view = result.value.view;
  return ok({
    requestId: view.requestId,
    action: view.action,
    payloadHash: view.payloadHash,
    policyVersion: view.policyVersion,
    approvers: result.value.approvers,
    requestedBy: result.value.requestedBy,
  });
}

/** Give back a redeemed receipt whose apply step failed (see GovernanceRpc.returnReceipt). */
export async function returnReceipt(
  env: Env,
  receiptIn: unknown,
  reasonIn: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<ApprovalView>> {
  const receipt = await receiptClaim(receiptIn, "receipt not returned");
  if (!receipt.ok) return receipt;
  const input = parseArgs(
    [v.pipe(v.string(), v.minLength(1), v.maxLength(500)), Principal],
    [reasonIn, actorIn],
  );
  if (!input.ok) return input;
  const [reason, actor] = input.value;
  const { requestId, tokenHash } = receipt.value;
  return onDesk(env, "returnReceipt", (d) => d.returnReceipt(requestId, { tokenHash, reason, actor }, now));
}

/**
 * Apply after a redemption. An apply that answers a failure changed nothing (its audit append was refused,
 * or the strategy's version moved so the compare-and-set wrote nothing): the receipt is given back so a
 * person can re-run the approval. One that throws may have written the change (a D1 error after the commit),
 * so its receipt is not given back. The failure keeps its code; its message says which happened.
 */
export async function applyOrReturn<T>(
  env: Env,
  receipt: unknown,
  actor: Principal,
  check: string,
  apply: () => Promise<Result<T>>,
): Promise<Result<T>> {
  const id = (receipt as { requestId: string }).requestId;
  let result: Result<T>;
  try {
    result = await apply();
  } catch (error) {
    return err(
      ErrorCode.internal,
      `apply failed: ${(error as Error).message}; approval ${id} not returned: the change may have been written, check ${check}`,
    );
  }
  if (result.ok) return result;
  let back: Result<unknown> | Error;
  try {
    // The clock at the return, not at the start of the apply: the execute window is checked against it.
    back = await returnReceipt(env, receipt, returnReason(result.error), actor, Date.now());
  } catch (error) {
    back = error as Error;
  }
  return afterReturn(result.error, id, back);
}
