// Proposing pairs: what a batch of candidates will do (insert, lapse, re-key), decided from the current rows, then
// written in one batch. A changed termsHash on either leg lapses grade and approval.
import type { PairCandidate, PairLeg } from "@paulp/contracts";
import { titlesInPrompt } from "./pair-assessment";

/** What proposing a batch will do, decided from the current rows before anything is written. */
export interface ProposalPlan {
  inserts: { pairId: string; candidate: PairCandidate }[];
  lapses: {
    pairId: string;
    candidate: PairCandidate;
    old: { kalshi: string; polymarket: string };
    reason: string;
  }[];
  /** Hashes of a newer scheme over terms nobody changed: the pair keeps its grade and review under the new hashes. */
  rekeys: {
    pairId: string;
    candidate: PairCandidate;
    old: { kalshi: string; polymarket: string };
    versions: { from: number; to: number };
  }[];
  refreshes: { pairId: string; candidate: PairCandidate }[];
}

/** A candidate's two legs (as stored) and their terms hashes, in the column order every write binds them. */
const legsAndHashes = (c: PairCandidate) =>
  [
    JSON.stringify(c.kalshi),
    JSON.stringify(c.polymarket),
    c.kalshi.termsHash,
    c.polymarket.termsHash,
  ] as const;
const versionOf = (c: PairCandidate) => Math.max(c.kalshi.termsVersion ?? 1, c.polymarket.termsVersion ?? 1);
const tokens = (l: PairLeg) => JSON.stringify(l.outcomeTokens ?? null);

/**
 * What differs between a candidate and the terms its pair was graded and reviewed on: rules, source and close time
 * against the stored legs (under version 1 these are what the stored hash covered), titles against the ones the
 * pair's assessment showed (the prompt the reviewer's approval is bound to), outcome tokens against the stored legs.
 */
export function reviewedTermsChanges(
  candidate: PairCandidate,
  stored: { kalshi: PairLeg; polymarket: PairLeg },
  assessedTitles: { kalshi: string; polymarket: string } | null,
  assessed: boolean,
): string[] {
  const out: string[] = [];
  for (const venue of ["kalshi", "polymarket"] as const) {
    const now = candidate[venue];
    const was = stored[venue];
    if (now.rules !== was.rules) out.push(`${venue} rules changed`);
    if (now.resolutionSource !== was.resolutionSource) out.push(`${venue} resolution source changed`);
    if (now.closeTime !== was.closeTime) out.push(`${venue} close time changed`);
    const title = assessed ? (assessedTitles?.[venue] ?? null) : was.title;
    if (title === null) out.push(`${venue} title as assessed cannot be read`);
    else if (now.title !== title) out.push(`${venue} title changed`);
    if (tokens(now) !== tokens(was)) out.push(`${venue} outcome tokens changed`);
  }
  return out;
}

/**
 * Compare candidates with stored pairs: new ones, ones whose terms changed (lapse), ones whose hashes moved only
 * because the scheme did (re-key), unchanged ones.
 */
export async function planProposal(
  db: D1Database,
  candidates: { pairId: string; candidate: PairCandidate }[],
): Promise<ProposalPlan> {
  const plan: ProposalPlan = { inserts: [], lapses: [], rekeys: [], refreshes: [] };
  const stored = await storedPairs(
    db,
    candidates.map((c) => c.pairId),
  );
  for (const item of candidates) {
    const row = stored.get(item.pairId);
    if (!row) {
      plan.inserts.push(item);
      continue;
    }
    const c = item.candidate;
    if (
      row.kalshi_terms_hash === c.kalshi.termsHash &&
      row.polymarket_terms_hash === c.polymarket.termsHash
    ) {
      plan.refreshes.push(item);
      continue;
    }
    const old = { kalshi: row.kalshi_terms_hash, polymarket: row.polymarket_terms_hash };
    const to = versionOf(c);
    if (to <= row.terms_version) {
      plan.lapses.push({ ...item, old, reason: "terms changed" });
      continue;
    }
    const changes = reviewedTermsChanges(
      c,
      {
        kalshi: JSON.parse(row.kalshi_leg) as PairLeg,
        polymarket: JSON.parse(row.polymarket_leg) as PairLeg,
      },
      row.prompt ? titlesInPrompt(row.prompt) : null,
      row.assessment_id !== null,
    );
    if (changes.length === 0) plan.rekeys.push({ ...item, old, versions: { from: row.terms_version, to } });
    else
      plan.lapses.push({
        ...item,
        old,
        reason: `terms hash version ${row.terms_version} → ${to} (now covering titles and outcome tokens): ${changes.join(", ")} since the pair was assessed and reviewed`,
      });
  }
  return plan;
}

/** A stored pair as a proposal compares it. */
interface StoredPairRow {
  pair_id: string;
  kalshi_terms_hash: string;
  polymarket_terms_hash: string;
  terms_version: number;
  kalshi_leg: string;
  polymarket_leg: string;
  assessment_id: string | null;
  prompt: string | null;
}

/** Pair ids per query: the ids travel as one JSON parameter, well under D1's statement and parameter limits. */
const PAIR_IDS_PER_QUERY = 200;

/**
 * The stored pairs among these ids, a few queries for all of them (a query per candidate held local D1, and the
 * gateway's `GET /admin/pairs` behind it, for minutes on a realistic universe's 500 candidates).
 */
async function storedPairs(db: D1Database, pairIds: string[]): Promise<Map<string, StoredPairRow>> {
  const out = new Map<string, StoredPairRow>();
  for (let i = 0; i < pairIds.length; i += PAIR_IDS_PER_QUERY) {
    const { results } = await db
      .prepare(
        `SELECT p.pair_id, p.kalshi_terms_hash, p.polymarket_terms_hash, p.terms_version, p.kalshi_leg,
           p.polymarket_leg, p.assessment_id, a.prompt
         FROM pairs p LEFT JOIN pair_assessments a ON a.assessment_id = p.assessment_id
         WHERE p.pair_id IN (SELECT value FROM json_each(?1))`,
      )
      .bind(JSON.stringify(pairIds.slice(i, i + PAIR_IDS_PER_QUERY)))
      .all<StoredPairRow>();
    for (const r of results) out.set(r.pair_id, r);
  }
  return out;
}

/** Apply a plan in one batch. A lapse clears the grade and the human review: both were about old terms. */
export async function applyProposal(db: D1Database, plan: ProposalPlan, now: string): Promise<void> {
  const stmts: D1PreparedStatement[] = [];
  for (const { pairId, candidate: c } of plan.inserts) {
    stmts.push(
      db
        .prepare(
          `INSERT INTO pairs (pair_id, kalshi_market, polymarket_market, kalshi_leg, polymarket_leg, kalshi_terms_hash, polymarket_terms_hash, similarity, created_at, updated_at, terms_version)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pair_id) DO NOTHING`,
        )
        .bind(
          pairId,
          c.kalshi.marketId,
          c.polymarket.marketId,
          ...legsAndHashes(c),
          c.similarity,
          now,
          now,
          versionOf(c),
        ),
    );
  }
  for (const { pairId, candidate: c } of plan.lapses) {
    stmts.push(
      db
        .prepare(
          `UPDATE pairs SET kalshi_leg = ?, polymarket_leg = ?, kalshi_terms_hash = ?, polymarket_terms_hash = ?, similarity = ?,
             grade = NULL, yes_maps_to = NULL, reasons = '[]', assessment_id = NULL, assessed_at = NULL,
             review = 'pending', reviewed_by = NULL, reviewed_by_subject = NULL, review_id = NULL, reviewed_at = NULL,
             reviewed_kalshi_terms_hash = NULL,
             reviewed_polymarket_terms_hash = NULL, reviewed_assessment_id = NULL, terms_version = ?, updated_at = ?
           WHERE pair_id = ?`,
        )
        .bind(...legsAndHashes(c), c.similarity, versionOf(c), now, pairId),
    );
  }
  for (const { pairId, candidate: c, old, versions } of plan.rekeys) {
    // Same terms, new hashes: the grade and the review carry over; what the review saw moves to the new hashes.
    stmts.push(
      db
        .prepare(
          `UPDATE pairs SET kalshi_leg = ?1, polymarket_leg = ?2, kalshi_terms_hash = ?3, polymarket_terms_hash = ?4,
             reviewed_kalshi_terms_hash = CASE WHEN reviewed_kalshi_terms_hash = ?5 THEN ?3 ELSE reviewed_kalshi_terms_hash END,
             reviewed_polymarket_terms_hash = CASE WHEN reviewed_polymarket_terms_hash = ?6 THEN ?4 ELSE reviewed_polymarket_terms_hash END,
             similarity = ?7, terms_version = ?8, updated_at = ?9
           WHERE pair_id = ?10 AND kalshi_terms_hash = ?5 AND polymarket_terms_hash = ?6`,
        )
        .bind(...legsAndHashes(c), old.kalshi, old.polymarket, c.similarity, versions.to, now, pairId),
    );
  }
  for (const { pairId, candidate: c } of plan.refreshes) {
    // Same terms: keep grade and review; only the descriptive fields and similarity may move.
    stmts.push(
      db
        .prepare(
          "UPDATE pairs SET kalshi_leg = ?, polymarket_leg = ?, similarity = ?, updated_at = ? WHERE pair_id = ? AND kalshi_terms_hash = ? AND polymarket_terms_hash = ?",
        )
        .bind(
          JSON.stringify(c.kalshi),
          JSON.stringify(c.polymarket),
          c.similarity,
          now,
          pairId,
          c.kalshi.termsHash,
          c.polymarket.termsHash,
        ),
    );
  }
  if (stmts.length > 0) await db.batch(stmts);
}

/**
 * Store an assessment and make it the pair's current grade, only if the terms it judged are still the pair's terms.
 * A changed verdict resets an approval (the person approved a different verdict); a rejection stays: a person's "no"
 * is cleared only by that person or by a change of terms, never by a re-assessment, failed or not.
 */
