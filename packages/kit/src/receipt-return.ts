import type { ApiError, ApprovalReceiptRef, GovernanceService, Principal, Result } from "@paulp/contracts";
import { withTimeout } from "./timeout";

/**
 * What an applier answers when its apply step failed after it had redeemed a two-person receipt (an audit
 * outage, a state that moved meanwhile): the action did not happen, so the receipt is given back
 * (`GovernanceRpc.returnReceipt`) and a person can re-run the approval instead of collecting two new ones.
 * The failure keeps its code; its message says whether the approval was returned. A return that fails
 * leaves the approval spent: fail closed.
 */
export async function failedAfterRedeem<T>(
  governance: GovernanceService,
  receipt: ApprovalReceiptRef,
  failure: ApiError,
  actor: Principal,
  timeoutMs = 5_000,
): Promise<Result<T>> {
  let note: string;
  try {
    const back = (await withTimeout(
      governance.returnReceipt(receipt, `apply failed: ${failure.message}`.slice(0, 500), actor),
      timeoutMs,
      "returnReceipt",
    )) as Result<unknown>;
    note = back.ok
      ? `approval ${receipt.requestId} returned: re-run it with POST /admin/approvals/${receipt.requestId}/execute within its execute window`
      : `approval ${receipt.requestId} could not be returned (${back.error.message}): it is spent`;
  } catch (error) {
    note = `approval ${receipt.requestId} could not be returned (${(error as Error).message}): it is spent`;
  }
  return { ok: false, error: { ...failure, message: `${failure.message}; ${note}` } };
}
