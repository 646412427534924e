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
