// Calls to the approval desk that other operations build on: the integrity gate, opening a request, redeeming and
// returning a receipt, and applying after a redemption (the receipt goes back if the apply changed nothing).
import type {
  ApiError,
  ApprovalAction,
  ApprovalView,
  AuditStatus,
  JsonValue,
  Principal,
  Result,
  VerifiedApproval,
} from "@paulp/contracts";
import { ErrorCode, err, ok } from "@paulp/contracts";
import { afterReturn, randomId, returnReason } from "@paulp/kit";
import { type RefusalContext, refusalPayload } from "./desk";
import type { Env } from "./env";
import { type Act, audit, hashPayload, hashToken, onDesk, type ReceiptRef } from "./operation-support";

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

/** Open a request on the desk: its payload hashed and the chain's integrity checked first. */
export async function openOnDesk(
  { env, now, actor }: Act,
  action: ApprovalAction,
  payload: JsonValue,
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

/**
 * Verify and consume a receipt for exactly this action and payload. The payload is as the applier sent it: its
 * hash is what the approval bound, so it is hashed as it came, not as a schema would reshape it.
 */
export async function redeemReceipt(
  { env, now, actor }: Act,
  receipt: ReceiptRef,
  action: ApprovalAction,
  payload: unknown,
): Promise<Result<VerifiedApproval>> {
  const payloadHash = await hashPayload(payload);
  if (!payloadHash.ok) return payloadHash;
  // The apply-time check: every applier redeems right before it writes, so this is the last look.
  const requestId = receipt.requestId;
  const intact = await requireIntegrity(env, { step: "redeem", requestId, action }, actor);
  if (!intact.ok) return intact;
  const tokenHash = await hashToken(receipt.receiptToken);
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
  { env, now, actor }: Act,
  receipt: ReceiptRef,
  reason: string,
): Promise<Result<ApprovalView>> {
  const tokenHash = await hashToken(receipt.receiptToken);
  return onDesk(env, "returnReceipt", (d) =>
    d.returnReceipt(receipt.requestId, { tokenHash, reason, actor }, now),
  );
}

/**
 * Apply after a redemption. An apply that answers a failure changed nothing (its audit append was refused,
 * or the strategy's version moved so the compare-and-set wrote nothing): the receipt is given back so a
 * person can re-run the approval. One that throws may have written the change (a D1 error after the commit),
 * so its receipt is not given back. The failure keeps its code; its message says which happened.
 */
export async function applyOrReturn<T>(
  act: Act,
  receipt: ReceiptRef,
  check: string,
  apply: () => Promise<Result<T>>,
): Promise<Result<T>> {
  const id = receipt.requestId;
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
    back = await returnReceipt({ ...act, now: act.clock() }, receipt, returnReason(result.error));
  } catch (error) {
    back = error as Error;
  }
  return afterReturn(result.error, id, back);
}
