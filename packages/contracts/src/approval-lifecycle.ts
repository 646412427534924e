// The approval request's lifecycle as one table, like the order's and the breaker's: every state change on the
// desk is checked against it, and any step not listed from a state is refused, naming the state.
import type { ApprovalStatus } from "./approval-requests";

/** The steps that move an approval request (opening one creates it `pending`). */
export type ApprovalStep = "approve" | "reject" | "cancel" | "expire" | "reissue" | "redeem" | "return";

/** Every step, in the order the table lists them. */
export const APPROVAL_STEPS: readonly ApprovalStep[] = [
  "approve",
  "reject",
  "cancel",
  "expire",
  "reissue",
  "redeem",
  "return",
];

/**
 * From each status, the statuses each step may lead to. An approval below the threshold leaves a request
 * `pending`; the one that reaches it makes it `approved`. Rejected, expired and cancelled are final. A redeemed
 * receipt makes the request `executed`; `return` (its applier gives the receipt back because the apply failed)
 * makes it `approved` again, with no live receipt until a person reissues one.
 */
export const APPROVAL_TRANSITIONS: {
  readonly [S in ApprovalStatus]: { readonly [T in ApprovalStep]?: readonly ApprovalStatus[] };
} = {
  pending: {
    approve: ["pending", "approved"],
    reject: ["rejected"],
    cancel: ["cancelled"],
    expire: ["expired"],
  },
  approved: {
    reject: ["rejected"],
    cancel: ["cancelled"],
    expire: ["expired"],
    reissue: ["approved"],
    redeem: ["executed"],
  },
  executed: { return: ["approved"] },
  rejected: {},
  expired: {},
  cancelled: {},
};

/** True when `step` may start from `status`. */
export function approvalStepAllowed(status: ApprovalStatus, step: ApprovalStep): boolean {
  return APPROVAL_TRANSITIONS[status][step] !== undefined;
}

/** Null when `step` may take a request from `from` to `to`; otherwise why not, naming the state. */
export function approvalTransitionRefusal(
  from: ApprovalStatus,
  step: ApprovalStep,
  to: ApprovalStatus,
): string | null {
  const targets = APPROVAL_TRANSITIONS[from][step];
  if (!targets) return `request is ${from}: ${step} is not a step from ${from}`;
  if (!targets.includes(to)) return `request is ${from}: ${step} leads to ${targets.join(" or ")}, not ${to}`;
  return null;
}
