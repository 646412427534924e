// Cross-venue pair rows in D1. A pair is tradable only while its grade passes, a person approved it,
// and the terms and assessment that person saw are still the current ones (checked in SQL and again here).
import type { PairAssessment, PairGrade, PairLeg, PairView, TradablePair } from "@paulp/contracts";
import { type PersonRef, personLabel } from "./desk";
import type { CurrentReview } from "./pair-review";

/** One row of the `pairs` table. */
export interface PairRow {
  pair_id: string;
  kalshi_leg: string;
  polymarket_leg: string;
  kalshi_terms_hash: string;
  polymarket_terms_hash: string;
  similarity: number;
  grade: PairGrade | null;
  yes_maps_to: "YES" | "NO" | null;
  reasons: string;
  assessment_id: string | null;
  assessed_at: string | null;
  review: "pending" | "approved" | "rejected";
  reviewed_by: string | null;
  reviewed_at: string | null;
  reviewed_kalshi_terms_hash: string | null;
  reviewed_polymarket_terms_hash: string | null;
  reviewed_assessment_id: string | null;
}

/** The one rule for "a signal may use this pair". */
export function isTradable(r: PairRow): boolean {
  return (
    (r.grade === "identical" || r.grade === "near_equivalent") &&
    r.yes_maps_to !== null &&
    r.review === "approved" &&
    r.assessment_id !== null &&
    r.reviewed_assessment_id === r.assessment_id &&
    r.reviewed_kalshi_terms_hash === r.kalshi_terms_hash &&
    r.reviewed_polymarket_terms_hash === r.polymarket_terms_hash
  );
}

function toView(r: PairRow): PairView {
  return {
    pairId: r.pair_id,
    kalshi: JSON.parse(r.kalshi_leg) as PairLeg,
    polymarket: JSON.parse(r.polymarket_leg) as PairLeg,
    similarity: r.similarity,
    grade: r.grade,
    yesMapsTo: r.yes_maps_to,
    reasons: JSON.parse(r.reasons) as string[],
    assessmentId: r.assessment_id,
    assessedAt: r.assessed_at,
    review: r.review,
    reviewedBy: r.reviewed_by,
    reviewedAt: r.reviewed_at,
    tradable: isTradable(r),
  };
}

/** One pair, or null. */
export async function getPair(db: D1Database, pairId: string): Promise<PairView | null> {
  const row = await db.prepare("SELECT * FROM pairs WHERE pair_id = ?").bind(pairId).first<PairRow>();
  return row ? toView(row) : null;
}

/** Pairs, optionally by review state. */
export async function listPairs(db: D1Database, review?: PairView["review"]): Promise<PairView[]> {
  const stmt = review
    ? db.prepare("SELECT * FROM pairs WHERE review = ? ORDER BY created_at DESC, pair_id").bind(review)
    : db.prepare("SELECT * FROM pairs ORDER BY created_at DESC, pair_id");
  return (await stmt.all<PairRow>()).results.map(toView);
}

/** Pairs never assessed (for the cron), oldest first. */
export async function unassessedPairIds(db: D1Database, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT pair_id FROM pairs WHERE assessment_id IS NULL ORDER BY created_at, pair_id LIMIT ?")
    .bind(limit)
    .all<{ pair_id: string }>();
  return results.map((r) => r.pair_id);
}

/** The pairs a cross-venue signal may use right now. */
export async function tradablePairs(db: D1Database): Promise<TradablePair[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM pairs WHERE grade IN ('identical','near_equivalent') AND review = 'approved'
         AND yes_maps_to IS NOT NULL AND assessment_id IS NOT NULL AND reviewed_assessment_id = assessment_id
         AND reviewed_kalshi_terms_hash = kalshi_terms_hash AND reviewed_polymarket_terms_hash = polymarket_terms_hash
       ORDER BY pair_id`,
    )
    .all<PairRow>();
  return results.filter(isTradable).map((r) => ({
    pairId: r.pair_id,
    kalshi: JSON.parse(r.kalshi_leg) as PairLeg,
    polymarket: JSON.parse(r.polymarket_leg) as PairLeg,
    grade: r.grade as "identical" | "near_equivalent",
    yesMapsTo: r.yes_maps_to as "YES" | "NO",
    approvedBy: r.reviewed_by ?? "",
    approvedAt: r.reviewed_at ?? "",
  }));
}

export async function recordAssessment(
  db: D1Database,
  a: PairAssessment & { prompt: string; kalshiTermsHash: string; polymarketTermsHash: string },
): Promise<boolean> {
  const same = "(grade IS ?1 AND yes_maps_to IS ?2)";
  const kept = `(review = 'rejected' OR ${same})`;
  const [insert, update] = await db.batch([
    db
      .prepare(
        `INSERT INTO pair_assessments (assessment_id, pair_id, model, prompt, prompt_hash, verdict, outcome, detail, kalshi_evidence_hash, polymarket_evidence_hash, kalshi_terms_hash, polymarket_terms_hash, audit_seq, audit_hash, assessed_at, request_id, usage, attempts)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM pairs WHERE pair_id = ? AND kalshi_terms_hash = ? AND polymarket_terms_hash = ?)`,
      )
      .bind(
        a.assessmentId,
        a.pairId,
        a.model,
        a.prompt,
        a.promptHash,
        JSON.stringify(a.verdict),
        a.outcome,
        a.detail,
        a.kalshiEvidenceHash,
        a.polymarketEvidenceHash,
        a.kalshiTermsHash,
        a.polymarketTermsHash,
        a.auditSeq,
        a.auditHash,
        a.assessedAt,
        a.requestId,
        a.usage ? JSON.stringify(a.usage) : null,
        a.attempts,
        a.pairId,
        a.kalshiTermsHash,
        a.polymarketTermsHash,
      ),
    db
      .prepare(
        `UPDATE pairs SET
           review = CASE WHEN ${kept} THEN review ELSE 'pending' END,
           reviewed_by = CASE WHEN ${kept} THEN reviewed_by ELSE NULL END,
           reviewed_by_subject = CASE WHEN ${kept} THEN reviewed_by_subject ELSE NULL END,
           reviewed_at = CASE WHEN ${kept} THEN reviewed_at ELSE NULL END,
           review_id = CASE WHEN ${kept} THEN review_id ELSE NULL END,
           reviewed_assessment_id = CASE WHEN review = 'rejected' THEN reviewed_assessment_id
             WHEN ${same} AND review = 'approved' THEN ?3 ELSE NULL END,
           grade = ?1, yes_maps_to = ?2, reasons = ?4, assessment_id = ?3, assessed_at = ?5, updated_at = ?5
         WHERE pair_id = ?6 AND kalshi_terms_hash = ?7 AND polymarket_terms_hash = ?8`,
      )
      .bind(
        a.verdict.grade,
        a.verdict.yesMapsTo,
        a.assessmentId,
        JSON.stringify(a.verdict.reasons),
        a.assessedAt,
        a.pairId,
        a.kalshiTermsHash,
        a.polymarketTermsHash,
      ),
  ]);
  return (insert?.meta.changes ?? 0) === 1 && (update?.meta.changes ?? 0) === 1;
}

/** The pair's current review, as the ownership rule needs it. */
export async function currentReview(db: D1Database, pairId: string): Promise<CurrentReview | null> {
  const row = await db
    .prepare(
      "SELECT review, reviewed_by, reviewed_by_subject, reviewed_at, review_id FROM pairs WHERE pair_id = ?",
    )
    .bind(pairId)
    .first<{
      review: CurrentReview["review"];
      reviewed_by: string | null;
      reviewed_by_subject: string | null;
      reviewed_at: string | null;
      review_id: string | null;
    }>();
  return row
    ? {
        review: row.review,
        reviewedBy: row.reviewed_by,
        reviewedBySubject: row.reviewed_by_subject,
        reviewedAt: row.reviewed_at,
        reviewId: row.review_id,
      }
    : null;
}

/**
 * Record a person's review of exactly the terms and assessment they saw, as its own row, and make it the pair's
 * current review. Compare-and-set on the review it was ruled against: a review that raced another writes nothing.
 */
export async function recordReview(
  db: D1Database,
  pair: PairView,
  current: CurrentReview,
  r: {
    reviewId: string;
    decision: "approved" | "rejected";
    reviewer: PersonRef;
    note: string;
    supersedes: string | null;
    auditSeq: number;
    auditHash: string;
    at: string;
  },
): Promise<boolean> {
  const [update] = await db.batch([
    db
      .prepare(
        `UPDATE pairs SET review = ?, reviewed_by = ?, reviewed_by_subject = ?, reviewed_at = ?, review_id = ?,
           reviewed_kalshi_terms_hash = ?, reviewed_polymarket_terms_hash = ?, reviewed_assessment_id = ?, updated_at = ?
         WHERE pair_id = ? AND assessment_id IS ? AND kalshi_terms_hash = ? AND polymarket_terms_hash = ?
           AND review = ? AND review_id IS ? AND reviewed_by IS ?`,
      )
      .bind(
        r.decision,
        personLabel(r.reviewer),
        r.reviewer.subject,
        r.at,
        r.reviewId,
        pair.kalshi.termsHash,
        pair.polymarket.termsHash,
        pair.assessmentId,
        r.at,
        pair.pairId,
        pair.assessmentId,
        pair.kalshi.termsHash,
        pair.polymarket.termsHash,
        current.review,
        current.reviewId,
        current.reviewedBy,
      ),
    db
      .prepare(
        `INSERT INTO pair_reviews (review_id, pair_id, decision, reviewer, reviewer_subject, note, assessment_id,
           kalshi_terms_hash, polymarket_terms_hash, supersedes, audit_seq, audit_hash, reviewed_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM pairs WHERE pair_id = ? AND review_id = ?)`,
      )
      .bind(
        r.reviewId,
        pair.pairId,
        r.decision,
        personLabel(r.reviewer),
        r.reviewer.subject,
        r.note,
        pair.assessmentId,
        pair.kalshi.termsHash,
        pair.polymarket.termsHash,
        r.supersedes,
        r.auditSeq,
        r.auditHash,
        r.at,
        pair.pairId,
        r.reviewId,
      ),
  ]);
  return (update?.meta.changes ?? 0) === 1;
}
