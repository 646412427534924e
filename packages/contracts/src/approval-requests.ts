import * as v from "valibot";
import { JsonPayload, type JsonValue, PersonEmail } from "./common";
import { IntFrom } from "./fields";

// The two-person approval desk's contracts: the actions, a request and its states, receipts, rosters. The
// payload each action carries is in approvals.ts; the request's lifecycle table in approval-lifecycle.ts.

/** The actions that need two-person approval (the specification's list, plus the breaker's exit from RECOVERY). */
export const ApprovalAction = v.picklist([
  "strategy.go_live",
  "risk.limits_increase",
  "risk.capital_increase",
  "strategy.allocation_increase",
  "execution.policy_live",
  "breaker.recovery_to_normal",
  "governance.roster_change",
]);
/** An action that needs two-person approval. */
export type ApprovalAction = v.InferOutput<typeof ApprovalAction>;

/**
 * Reference to a desk receipt, handed to the applying worker, which redeems it with governance over RPC.
 * `receiptToken` is a random secret minted when the request reached its approval threshold.
 */
export interface ApprovalReceiptRef {
  requestId: string;
  receiptToken: string;
}

/** What an applying worker learns when it redeems a receipt. */
export interface VerifiedApproval {
  requestId: string;
  action: ApprovalAction;
  payloadHash: string;
  policyVersion: number;
  approvers: string[];
  requestedBy: string;
}

/**
 * Lifecycle states of an approval request on the desk. `cancelled`: ended because the thing it concerns moved
 * on (a strategy paused, retired or put back to paper while its go-live request was open).
 */
export const ApprovalStatus = v.picklist([
  "pending",
  "approved",
  "rejected",
  "expired",
  "executed",
  "cancelled",
]);
/** A lifecycle state of an approval request. */
export type ApprovalStatus = v.InferOutput<typeof ApprovalStatus>;

/** What an operator asks the desk to approve: one action and its exact payload. */
export const ApprovalRequestInput = v.object({
  action: ApprovalAction,
  payload: JsonPayload,
});
/** What an operator asks the desk to approve. */
export type ApprovalRequestInput = v.InferOutput<typeof ApprovalRequestInput>;

/** One approval request as the desk shows it (never the receipt token). */
export interface ApprovalView {
  requestId: string;
  action: ApprovalAction;
  payload: JsonValue;
  payloadHash: string;
  policyVersion: number;
  requiredApprovals: number;
  status: ApprovalStatus;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string;
  approvals: { approver: string; at: string }[];
  rejection: { by: string; at: string; reason: string } | null;
  approvedAt: string | null;
  /** End of the window in which the approved action must be executed. */
  executeBy: string | null;
  executedAt: string | null;
  expiredReason: "approval_ttl" | "execute_window" | null;
  /** Who ended it as `cancelled`, when and why (absent or null otherwise). */
  cancellation?: { by: string; at: string; reason: string } | null;
}

/** What an approval answers: the request and, when this approval reached the threshold, the receipt. */
export interface ApprovalDecision {
  request: ApprovalView;
  receipt: ApprovalReceiptRef | null;
}

/** Most approvers one action's roster may list. */
export const ROSTER_MAX_APPROVERS = 50;

/**
 * Payload of a `governance.roster_change` request: `action`'s roster becomes exactly `approvers` (email
 * addresses, compared in their canonical form), replacing the roster of version `version`.
 */
export const RosterChangePayload = v.strictObject({
  action: ApprovalAction,
  approvers: v.pipe(v.array(PersonEmail), v.minLength(2), v.maxLength(ROSTER_MAX_APPROVERS)),
  version: IntFrom(1),
});
/** Payload of a `governance.roster_change` request. */
export type RosterChangePayload = v.InferOutput<typeof RosterChangePayload>;

/** Who may approve one action: an explicit list of people (GitHub's required reviewers, Teleport's reviewers). */
export interface ApproverRoster {
  action: ApprovalAction;
  /** Canonical email addresses (Unicode NFKC, case folded), sorted. */
  approvers: string[];
  /** 1 for the roster set from config; each approved change adds one. */
  version: number;
  /** `config`: the first roster, from APPROVER_ROSTER; `approval`: a two-person roster change. */
  source: "config" | "approval";
  /** The `governance.roster_change` request that set it (null for the first roster). */
  requestId: string | null;
  updatedAt: string;
  updatedBy: string;
}

/** One action's roster, or why it has none (and so cannot be requested or approved: fail closed). */
export type RosterListing =
  | { action: ApprovalAction; roster: ApproverRoster; error: null }
  | { action: ApprovalAction; roster: null; error: { code: string; message: string } };
