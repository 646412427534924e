// Who may review a pair now. A review belongs to its reviewer: only they change it, except that anyone may veto an
// approval with a rejection (recorded as their own review; the approval is kept, superseded). A rejection is a veto:
// nobody else can overturn it, and neither can a re-assessment; only its reviewer or a change of terms clears it.
import { type PersonRef, samePerson } from "./identity";

/** The pair's current review as stored. */
export interface CurrentReview {
  review: "pending" | "approved" | "rejected";
  reviewedBy: string | null;
  reviewedBySubject: string | null;
  reviewedAt: string | null;
  reviewId: string | null;
}

/** What a person's review would do: record it (superseding the current one, if any), or why it is refused. */
export type ReviewRuling = { ok: true; supersedes: string | null } | { ok: false; message: string };

export function ruleOnReview(
  current: CurrentReview,
  decision: "approved" | "rejected",
  by: PersonRef,
): ReviewRuling {
  if (current.review === "pending" || current.reviewedBy === null) return { ok: true, supersedes: null };
  // Rows reviewed before subjects were stored compare by email alone.
  const owner: PersonRef = { subject: current.reviewedBySubject ?? "", email: current.reviewedBy };
  if (samePerson(owner, by)) return { ok: true, supersedes: current.reviewId };
  const when = current.reviewedAt ? ` at ${current.reviewedAt}` : "";
  if (current.review === "approved") {
    if (decision === "rejected") return { ok: true, supersedes: current.reviewId };
    return {
      ok: false,
      message: `already approved by ${current.reviewedBy}${when}; a review belongs to its reviewer (anyone may reject it)`,
    };
  }
  return {
    ok: false,
    message: `rejected by ${current.reviewedBy}${when}: only ${current.reviewedBy} can withdraw the rejection (or a change of terms lapses it)`,
  };
}
