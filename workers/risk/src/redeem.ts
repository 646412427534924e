import {
  type ApprovalAction,
  type ApprovalReceiptRef,
  ErrorCode,
  err,
  type GovernanceService,
  ok,
  type Principal,
  type Result,
  type VerifiedApproval,
} from "@paulp/contracts";

/**
 * A two-person change's arguments, as the entrypoint, the Durable Objects and the appliers take them: the change,
 * who asks, and the receipt of a second person's approval (needed only where the change raises or loosens).
 */
export type TwoPersonChange<T> = [change: T, actor: Principal, receipt?: ApprovalReceiptRef];

/** What the audit records of a redeemed two-person approval. */
export interface RedeemedApproval {
  requestId: string;
  approvers: string[];
}

/**
 * Redeem the desk's receipt for exactly this action and payload (governance re-hashes the payload and
 * spends the receipt once). A refusal, or governance not answering, refuses the action: fail closed.
 */
export async function redeemApproval(
  governance: GovernanceService,
  receipt: ApprovalReceiptRef,
  action: ApprovalAction,
  payload: unknown,
  actor: Principal,
): Promise<Result<RedeemedApproval>> {
  let redeemed: Result<VerifiedApproval>;
  try {
    redeemed = (await governance.redeemReceipt(receipt, action, payload, actor)) as Result<VerifiedApproval>;
  } catch (error) {
    return err(ErrorCode.serviceUnavailable, `governance unreachable: ${(error as Error).message}`);
  }
  if (!redeemed.ok) return err(redeemed.error.code, redeemed.error.message);
  return ok({ requestId: redeemed.value.requestId, approvers: redeemed.value.approvers });
}

/** A two-person action that a change needs: which action, its exact payload, and why it is needed. */
export interface NeededApproval {
  action: ApprovalAction;
  payload: unknown;
  /** The `approval_required` message when no receipt came. */
  refusal: string;
  /** Said besides the action and payload in that refusal. */
  details?: Record<string, unknown>;
}

/**
 * The gate of a raise: without a receipt, `approval_required` naming the action and the exact payload to file at
 * `POST /admin/approvals`; with one, that receipt redeemed for exactly them (`redeemApproval`).
 */
export async function requireApproval(
  governance: GovernanceService,
  receipt: ApprovalReceiptRef | undefined,
  actor: Principal,
  needed: NeededApproval,
): Promise<Result<RedeemedApproval>> {
  if (!receipt)
    return err(ErrorCode.approvalRequired, needed.refusal, {
      action: needed.action,
      payload: needed.payload,
      ...needed.details,
    });
  return redeemApproval(governance, receipt, needed.action, needed.payload, actor);
}
