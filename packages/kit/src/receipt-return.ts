import type { ApiError, ApprovalReceiptRef, GovernanceService, Principal, Result } from "@paulp/contracts";
import { withTimeout } from "./timeout";

/**
 * An apply step that failed after its two-person receipt was redeemed, and definitely changed nothing (the
 * audit append of the change was refused, or a check refused it before any write). Appliers that run in a
 * serial queue return this from the queue and settle it outside (`settleRedemption`), so a slow return never
 * holds up the queue (orders, breaker transitions).
 */
export class RedeemedButNotApplied {
  constructor(
    readonly receipt: ApprovalReceiptRef,
    readonly error: ApiError,
  ) {}
}

/** A queue's outcome as the caller's answer: a RedeemedButNotApplied gives its receipt back first. */
export function settleRedemption<T>(
  governance: GovernanceService,
  actor: Principal,
  outcome: Result<T> | RedeemedButNotApplied,
): Promise<Result<T>> {
  return outcome instanceof RedeemedButNotApplied
    ? failedAfterRedeem(governance, outcome.receipt, outcome.error, actor)
    : Promise.resolve(outcome);
}

/**
 * What an applier answers when its apply step failed after it had redeemed a two-person receipt and nothing
 * was applied: the receipt is given back (`GovernanceRpc.returnReceipt`) so a person can re-run the approval
 * instead of collecting two new ones. Never call it when the change may have been written. The failure keeps
 * its code; its message says whether the approval was returned. A return that is refused leaves the approval
 * spent (fail closed); one that does not answer in time may still have happened, and the message says so.
 */
export async function failedAfterRedeem<T>(
  governance: GovernanceService,
  receipt: ApprovalReceiptRef,
  failure: ApiError,
  actor: Principal,
  timeoutMs = 15_000,
): Promise<Result<T>> {
  let back: Result<unknown> | Error;
  try {
    back = (await withTimeout(
      governance.returnReceipt(receipt, returnReason(failure), actor),
      timeoutMs,
      "returnReceipt",
    )) as Result<unknown>;
  } catch (error) {
    back = error as Error;
  }
  return afterReturn(failure, receipt.requestId, back);
}

/** The reason a return records: the apply's failure. */
export function returnReason(failure: ApiError): string {
  return `apply failed: ${failure.message}`.slice(0, 500);
}

/**
 * The failure, its code kept, with what became of its approval in the message: returned, refused (spent), or
 * no answer (`GET /admin/approvals/:id` says which). One wording for every applier.
 */
export function afterReturn<T>(
  failure: ApiError,
  requestId: string,
  back: Result<unknown> | Error,
): Result<T> {
  const id = requestId;
  const note =
    back instanceof Error
      ? `returning approval ${id} did not answer (${back.message}): GET /admin/approvals/${id} says whether it was (approved: re-run it with POST /admin/approvals/${id}/execute; executed: it is spent)`
      : back.ok
        ? `approval ${id} returned: re-run it with POST /admin/approvals/${id}/execute within its execute window`
        : `approval ${id} could not be returned (${back.error.message}): it is spent`;
  return { ok: false, error: { ...failure, message: `${failure.message}; ${note}` } };
}
