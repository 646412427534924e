// The receipt rules of the desk as plain functions over values: reissue, redeem (single use) and return. Like
// desk.ts, no storage, no clock, no crypto: the Durable Object passes the time and pre-computed hashes.
import {
  type ApprovalAction,
  ErrorCode,
  type Principal,
  approvalStepAllowed as stepAllowed,
} from "@paulp/contracts";
import {
  actorName,
  DESK_POLICY,
  type Decision,
  deny,
  eventBody,
  expiryDue,
  moved,
  personActing,
  type RequestRecord,
} from "./desk";

/** A new receipt for an approved request whose apply step did not complete (the old token dies). */
export function decideReissue(
  record: RequestRecord,
  actor: Principal,
  now: number,
  receiptTokenHash: string,
): Decision {
  const acting = personActing(record, actor, now, "execute an approval");
  if (!acting.ok) return acting;
  const { person } = acting;
  if (!stepAllowed(record.status, "reissue"))
    return deny(ErrorCode.conflict, `request is ${record.status}, not approved`);
  const next: RequestRecord = { ...record, receiptTokenHash };
  return moved(record, "reissue", next, {
    type: "governance.receipt_reissued",
    payload: eventBody(next, person),
  });
}

/**
 * Redeem a receipt (single use). Every input is already hashed by the caller, so this is pure and the
 * Durable Object can run it between a read and a write with nothing awaited in between.
 */
export function decideRedeem(
  record: RequestRecord,
  claim: { tokenHash: string; action: ApprovalAction; payloadHash: string; actor: Principal },
  now: number,
): Decision {
  const expired = expiryDue(record, now);
  if (expired)
    return deny(
      ErrorCode.approvalRequired,
      `receipt refused: request expired (${expired.next.expiredReason})`,
      expired,
    );
  if (record.status === "executed")
    return deny(ErrorCode.approvalRequired, "receipt refused: already executed (single use)");
  if (!stepAllowed(record.status, "redeem"))
    return deny(ErrorCode.approvalRequired, `receipt refused: request is ${record.status}`);
  if (!record.receiptTokenHash || !equalHex(record.receiptTokenHash, claim.tokenHash)) {
    return deny(ErrorCode.approvalRequired, "receipt refused: unknown receipt token");
  }
  if (record.policyVersion !== DESK_POLICY.version)
    return deny(ErrorCode.approvalRequired, "receipt refused: policy version changed");
  if (record.action !== claim.action) {
    return deny(
      ErrorCode.approvalRequired,
      `receipt refused: approved for ${record.action}, not ${claim.action}`,
    );
  }
  if (!equalHex(record.payloadHash, claim.payloadHash)) {
    return deny(ErrorCode.approvalRequired, "receipt refused: payload differs from the approved payload");
  }
  const executedBy = actorName(claim.actor);
  const next: RequestRecord = {
    ...record,
    status: "executed",
    executedAt: now,
    executedBy,
    receiptTokenHash: null,
    redeemedTokenHash: claim.tokenHash,
  };
  return moved(record, "redeem", next, {
    type: "governance.approval_executed",
    payload: { ...eventBody(next, null), executedBy },
  });
}

/**
 * The applier gives back the receipt it redeemed because its apply step failed after the redemption (an
 * audit outage, a state that moved meanwhile): the action did not happen, so the approval is not spent.
 * Only the token that executed it returns it, once, while the execute window is open. The request is
 * approved again with no live receipt: a person re-runs it (reissue) within the same window.
 */
export function decideReturn(
  record: RequestRecord,
  claim: { tokenHash: string; reason: string; actor: Principal },
  now: number,
): Decision {
  if (!stepAllowed(record.status, "return"))
    return deny(ErrorCode.conflict, `receipt not returned: request is ${record.status}, not executed`);
  if (!record.redeemedTokenHash)
    return deny(
      ErrorCode.conflict,
      "receipt not returned: it was redeemed before receipts could be returned",
    );
  if (!equalHex(record.redeemedTokenHash, claim.tokenHash))
    return deny(ErrorCode.approvalRequired, "receipt not returned: not the receipt that executed it");
  if (record.executeBy === null || now >= record.executeBy)
    return deny(
      ErrorCode.conflict,
      "receipt not returned: the execute window has closed (the approval is spent)",
    );
  const returnedBy = actorName(claim.actor);
  const next: RequestRecord = {
    ...record,
    status: "approved",
    executedAt: null,
    executedBy: null,
    receiptTokenHash: null,
    redeemedTokenHash: null,
  };
  return moved(record, "return", next, {
    type: "governance.receipt_returned",
    payload: { ...eventBody(next, null), returnedBy, reason: claim.reason },
  });
}

// Both sides are hex digests of secrets, so comparing them leaks nothing useful; still, avoid early exit.
function equalHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
