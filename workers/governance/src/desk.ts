// The two-person approval rules as plain functions over values: no storage, no clock, no crypto.
// The ApprovalDesk Durable Object feeds them the stored record, the time and pre-computed hashes.
import {
  type ApiError,
  type ApprovalAction,
  type ApprovalEventBody,
  type ApprovalStep,
  type ApprovalView,
  type AuditEventType,
  type AuditPayload,
  approvalTransitionRefusal,
  ErrorCode,
  isPerson,
  type JsonValue,
  type Principal,
  approvalStepAllowed as stepAllowed,
} from "@paulp/contracts";
import { canonicalEmail, type PersonRef, samePerson } from "./identity";
import { eligibleApprovers, onRoster } from "./roster";

export type { PersonRef } from "./identity";

/**
 * The desk's rules; bumping the version makes requests opened under older rules unredeemable. Version 2: people
 * are compared on their normalised identity (identity.ts) and only people on the action's roster approve.
 */
export const DESK_POLICY = { version: 2, requiredApprovals: 2 } as const;

/** The steps that move a request (the lifecycle table is contracts' APPROVAL_TRANSITIONS). */
export type DeskStepName = ApprovalStep;

/**
 * What the desk stores per request: the view's identity, payload and status fields as they are, people as
 * PersonRefs and times as epoch milliseconds.
 */
export interface RequestRecord
  extends Pick<
    ApprovalView,
    "requestId" | "action" | "payload" | "payloadHash" | "policyVersion" | "requiredApprovals" | "status"
  > {
  requestedBy: PersonRef;
  requestedAt: number;
  expiresAt: number;
  approvals: { approver: PersonRef; at: number }[];
  rejection: { by: PersonRef; at: number; reason: string } | null;
  approvedAt: number | null;
  executeBy: number | null;
  executedAt: number | null;
  executedBy: string | null;
  expiredReason: ApprovalView["expiredReason"];
  /** SHA-256 of the live receipt token; the token itself is never stored. */
  receiptTokenHash: string | null;
  /** SHA-256 of the token that executed it, so only its holder can return it (absent on older records). */
  redeemedTokenHash?: string | null;
  /** Why it was cancelled, by whom (a label: the actor may be the admin token), when (absent on older records). */
  cancellation?: { by: string; at: number; reason: string } | null;
}

/** The audit events of the desk (the catalog's `governance.approval_*` and `governance.receipt_*`). */
export type DeskEventType = Extract<
  AuditEventType<"governance">,
  `governance.approval_${string}` | `governance.receipt_${string}`
>;

/** An audit event the caller must append (fail closed) before storing `next`. */
export type DeskEvent = {
  [T in DeskEventType]: { type: T; payload: AuditPayload<"governance", T> };
}[DeskEventType];

/** A decided step: the record to store and the event to audit first. */
export interface DeskStep {
  next: RequestRecord;
  event: DeskEvent;
}

/** A rule's answer: the step to take, or the refusal (with the expiry to record when time ran out). */
export type Decision = { ok: true; step: DeskStep } | { ok: false; error: ApiError; expired?: DeskStep };

/** A refusal, with the expiry to record when time ran out. */
export const deny = (code: string, message: string, expired?: DeskStep): Refusal =>
  expired ? { ok: false, error: { code, message }, expired } : { ok: false, error: { code, message } };
/** A decision that refuses. */
export type Refusal = Extract<Decision, { ok: false }>;

/**
 * The person who would `what` a request whose time has not run out; else the refusal: the actor is not a verified
 * person (the admin token), or the request expired (the expiry is recorded by the caller).
 */
export function personActing(
  record: RequestRecord,
  actor: Principal,
  now: number,
  what: string,
): { ok: true; person: PersonRef } | Refusal {
  const person = personOf(actor);
  if (!person)
    return deny(
      ErrorCode.forbidden,
      `only a verified person (Cloudflare Access) can ${what}; the admin token cannot`,
    );
  const expired = expiryDue(record, now);
  if (expired) return deny(ErrorCode.conflict, `request expired (${expired.next.expiredReason})`, expired);
  return { ok: true, person };
}

/**
 * Every state change goes through here: `step` takes `record` to `next` only if the lifecycle table lists it
 * (contracts' APPROVAL_TRANSITIONS); otherwise it is refused, naming the state, and nothing changes.
 */
export function moved(
  record: RequestRecord,
  step: ApprovalStep,
  next: RequestRecord,
  event: DeskEvent,
): Decision {
  const refusal = approvalTransitionRefusal(record.status, step, next.status);
  return refusal ? deny(ErrorCode.conflict, refusal) : { ok: true, step: { next, event } };
}

/** The person behind a principal, or null for the admin token, system actors and unverified identities. */
export function personOf(actor: Principal): PersonRef | null {
  if (!isPerson(actor)) return null;
  return { subject: actor.subject, email: canonicalEmail(actor.email ?? "") };
}

/**
 * Whether `requester` may open a request for an action with this roster: refused when fewer people than the
 * threshold, other than the requester, are on it (nobody would collect approvals that can never come).
 */
export function checkOpen(
  approvers: readonly string[],
  requester: PersonRef,
  action: ApprovalAction,
): ApiError | null {
  const eligible = eligibleApprovers(approvers, requester);
  if (eligible >= DESK_POLICY.requiredApprovals) return null;
  return {
    code: ErrorCode.conflict,
    message: `the approver roster of ${action} lists ${eligible} people other than the requester; ${DESK_POLICY.requiredApprovals} are needed (GET /admin/approvers)`,
  };
}

/** Who the audit and the views name: the verified email. */
export function personLabel(p: PersonRef): string {
  return p.email;
}

/** A new pending request. */
export function openRequest(input: {
  requestId: string;
  action: ApprovalAction;
  payload: JsonValue;
  payloadHash: string;
  requester: PersonRef;
  now: number;
  ttlMs: number;
}): DeskStep {
  const next: RequestRecord = {
    requestId: input.requestId,
    action: input.action,
    payload: input.payload,
    payloadHash: input.payloadHash,
    policyVersion: DESK_POLICY.version,
    requiredApprovals: DESK_POLICY.requiredApprovals,
    status: "pending",
    requestedBy: input.requester,
    requestedAt: input.now,
    expiresAt: input.now + input.ttlMs,
    approvals: [],
    rejection: null,
    approvedAt: null,
    executeBy: null,
    executedAt: null,
    executedBy: null,
    expiredReason: null,
    receiptTokenHash: null,
  };
  return {
    next,
    event: { type: "governance.approval_requested", payload: eventBody(next, input.requester) },
  };
}

/** If the record's approval TTL or execute window has passed, the expiry step; otherwise null. */
export function expiryDue(record: RequestRecord, now: number): DeskStep | null {
  let reason: RequestRecord["expiredReason"] = null;
  if (record.status === "pending" && now >= record.expiresAt) reason = "approval_ttl";
  if (record.status === "approved" && record.executeBy !== null && now >= record.executeBy)
    reason = "execute_window";
  if (!reason) return null;
  const next: RequestRecord = { ...record, status: "expired", expiredReason: reason, receiptTokenHash: null };
  const expiry = moved(record, "expire", next, {
    type: "governance.approval_expired",
    payload: { ...eventBody(next, null), reason },
  });
  return expiry.ok ? expiry.step : null;
}

/**
 * One approval. `receiptTokenHash` is the hash of a token minted by the caller beforehand; it is kept
 * only if this approval reaches the threshold (then `receiptIssued` is true and the caller hands the
 * token out). A repeat approval by someone who already approved (under any alias or subject) changes
 * nothing and is refused; so is anyone not on `approvers`, the action's roster as it stands now.
 */
export function decideApprove(
  record: RequestRecord,
  actor: Principal,
  now: number,
  executeWindowMs: number,
  receiptTokenHash: string,
  approvers: readonly string[],
): Decision & { receiptIssued?: boolean } {
  const acting = personActing(record, actor, now, "approve");
  if (!acting.ok) return acting;
  const approver = acting.person;
  if (!stepAllowed(record.status, "approve"))
    return deny(ErrorCode.conflict, `request is ${record.status}, not pending`);
  if (record.policyVersion !== DESK_POLICY.version)
    return deny(ErrorCode.conflict, "request was opened under an older desk policy");
  if (samePerson(approver, record.requestedBy))
    return deny(
      ErrorCode.forbidden,
      `the requester cannot approve their own request${alias(approver, record.requestedBy)}`,
    );
  const counted = record.approvals.find((a) => samePerson(a.approver, approver));
  if (counted) {
    return deny(
      ErrorCode.conflict,
      `this person has already approved${alias(approver, counted.approver)}; a person counts once`,
    );
  }
  if (!onRoster(approvers, approver))
    return deny(
      ErrorCode.forbidden,
      `${approver.email} is not on the approver roster of ${record.action} (GET /admin/approvers)`,
    );
  const approvals = [...record.approvals, { approver, at: now }];
  const reached = approvals.length >= record.requiredApprovals;
  const next: RequestRecord = reached
    ? {
        ...record,
        approvals,
        status: "approved",
        approvedAt: now,
        executeBy: now + executeWindowMs,
        receiptTokenHash,
      }
    : { ...record, approvals };
  const type = reached ? "governance.approval_granted" : "governance.approval_recorded";
  const decision = moved(record, "approve", next, {
    type,
    payload: { ...eventBody(next, approver), approvals: approvals.length },
  });
  return decision.ok ? { ...decision, receiptIssued: reached } : decision;
}

/** A rejection by a person; final. The requester may withdraw their own request this way. */
export function decideReject(record: RequestRecord, actor: Principal, reason: string, now: number): Decision {
  const acting = personActing(record, actor, now, "reject");
  if (!acting.ok) return acting;
  const { person } = acting;
  if (!stepAllowed(record.status, "reject")) {
    return deny(ErrorCode.conflict, `request is ${record.status}; it can no longer be rejected`);
  }
  const next: RequestRecord = {
    ...record,
    status: "rejected",
    rejection: { by: person, at: now, reason },
    receiptTokenHash: null,
  };
  return moved(record, "reject", next, {
    type: "governance.approval_rejected",
    payload: { ...eventBody(next, person), reason },
  });
}

/**
 * End an open request because what it concerns moved on (its strategy paused, retired or put back to paper).
 * Any principal that may make that move may cancel: the move, not the person, decides. Final.
 */
export function decideCancel(record: RequestRecord, actor: Principal, reason: string, now: number): Decision {
  const expired = expiryDue(record, now);
  if (expired) return deny(ErrorCode.conflict, `request expired (${expired.next.expiredReason})`, expired);
  if (!stepAllowed(record.status, "cancel"))
    return deny(ErrorCode.conflict, `request is ${record.status}; it can no longer be cancelled`);
  const by = actorName(actor);
  const next: RequestRecord = {
    ...record,
    status: "cancelled",
    cancellation: { by, at: now, reason },
    receiptTokenHash: null,
  };
  return moved(record, "cancel", next, {
    type: "governance.approval_cancelled",
    payload: { ...eventBody(next, null), cancelledBy: by, reason },
  });
}

/** The public view (no receipt hash). */
export function toView(r: RequestRecord): ApprovalView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    requestId: r.requestId,
    action: r.action,
    payload: r.payload,
    payloadHash: r.payloadHash,
    policyVersion: r.policyVersion,
    requiredApprovals: r.requiredApprovals,
    status: r.status,
    requestedBy: personLabel(r.requestedBy),
    requestedAt: new Date(r.requestedAt).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
    approvals: r.approvals.map((a) => ({
      approver: personLabel(a.approver),
      at: new Date(a.at).toISOString(),
    })),
    rejection: r.rejection
      ? {
          by: personLabel(r.rejection.by),
          at: new Date(r.rejection.at).toISOString(),
          reason: r.rejection.reason,
        }
      : null,
    approvedAt: iso(r.approvedAt),
    executeBy: iso(r.executeBy),
    executedAt: iso(r.executedAt),
    expiredReason: r.expiredReason,
    cancellation: r.cancellation
      ? {
          by: r.cancellation.by,
          at: new Date(r.cancellation.at).toISOString(),
          reason: r.cancellation.reason,
        }
      : null,
  };
}

/** What a refusal concerns: the step tried, the request (none yet when opening), its action. */
export interface RefusalContext {
  step: DeskStepName | "open";
  requestId: string | null;
  action: ApprovalAction | null;
}

/** The audit payload of a refused step (`governance.approval_refused`): who tried what, the code and the reason. */
export function refusalPayload(
  about: RefusalContext,
  error: ApiError,
): AuditPayload<"governance", "governance.approval_refused"> {
  return {
    step: about.step,
    requestId: about.requestId,
    action: about.action,
    code: error.code,
    reason: error.message,
    outcome: "denied",
  };
}

/** ` (x is y)` when one person appears under another address, so a refusal says who it was taken for. */
function alias(person: PersonRef, as: PersonRef): string {
  return person.email === as.email ? "" : ` (${person.email} is ${personLabel(as)})`;
}

/** How a step names a principal that need not be a person: `method:subject`. */
export function actorName(actor: Principal): string {
  return `${actor.method}:${actor.subject}`;
}

/** What every desk event says about its request. */
export function eventBody(r: RequestRecord, by: PersonRef | null): ApprovalEventBody {
  return {
    requestId: r.requestId,
    action: r.action,
    payloadHash: r.payloadHash,
    policyVersion: r.policyVersion,
    status: r.status,
    requestedBy: personLabel(r.requestedBy),
    by: by ? personLabel(by) : null,
  };
}
