// Pair candidates: active Kalshi and Polymarket markets, gated again under the current rules, text-matched and
// handed to governance.
import type { MarketVenue, PairCandidate } from "@paulp/contracts";
import type { StoredMarketRow } from "@paulp/venue-decode";
import { type ComplianceAgent, type ComplianceEntity, gateWithCurrentRules } from "./compliance";
import { callPeer, type PipelineDeps } from "./deps";
import { type HashedMarketRow, type MatchRow, matchCandidates, toLeg } from "./matching";
import { termsHash, termsHashSync, termsOf } from "./terms";

/**
 * Rows read per query while pairing. The venue's active markets are read in slices and only what matching needs
 * (id, title, close time) is kept of each: a 100,000-market venue with its rules text held at once would pass a
 * Worker's 128 MB. The candidates' full rows are read again afterwards, by id.
 */
export const PAIRING_SLICE = 2_000;

type GateColumns = {
  market_id: string;
  event_id: string | null;
  series_id: string | null;
  title: string;
  category: string | null;
  close_time: string | null;
  rules: string | null;
};

/** What the gate reads of a stored market. */
function gateEntity(venue: MarketVenue, r: GateColumns): ComplianceEntity {
  return {
    venue,
    marketId: r.market_id,
    eventId: r.event_id,
    seriesId: r.series_id,
    title: r.title,
    category: r.category,
    rules: r.rules,
  };
}

/** The venue's active markets the current rules allow, as matching reads them. */
async function allowedForMatching(
  deps: PipelineDeps,
  agent: ComplianceAgent,
  venue: MarketVenue,
  slice: number,
): Promise<MatchRow[]> {
  const out: MatchRow[] = [];
  let after = "";
  for (;;) {
    const { results } = await deps.db
      .prepare(
        `SELECT market_id, event_id, series_id, title, category, close_time, rules FROM markets
         WHERE venue = ?1 AND status = 'active' AND market_id > ?2 ORDER BY market_id LIMIT ?3`,
      )
      .bind(venue, after, slice)
      .all<GateColumns>();
    for (const r of results) {
      if (agent.check(gateEntity(venue, r)).decision === "allow")
        out.push({ marketId: r.market_id, title: r.title, closeTime: r.close_time });
    }
    if (results.length < slice) return out;
    after = results.at(-1)!.market_id;
  }
}

/**
 * The stored rows of these markets, still active and still allowed by the current rules (a run may have changed
 * one since it was matched), each with the terms hash of the current scheme computed from its stored fields: a row
 * stored under an older scheme is proposed with the hash a fresh ingestion would give it (and getMarket serves),
 * not the one in its column. A row that cannot be represented (a lone surrogate) is never proposed.
 */
async function legRows(
  deps: PipelineDeps,
  agent: ComplianceAgent,
  venue: MarketVenue,
  ids: string[],
): Promise<Map<string, HashedMarketRow>> {
  const { results } = await deps.db
    .prepare(
      `SELECT market_id, event_id, series_id, title, category, close_time, rules, resolution_source, evidence_hash,
              outcome_tokens, fetched_at FROM markets
       WHERE venue = ?1 AND status = 'active' AND market_id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(venue, JSON.stringify(ids))
    .all<
      GateColumns & {
        resolution_source: string | null;
        evidence_hash: string;
        outcome_tokens: string | null;
        fetched_at: string;
      }
    >();
  const out = new Map<string, HashedMarketRow>();
  for (const r of results) {
    const row: StoredMarketRow = {
      ...gateEntity(venue, r),
      venue,
      status: "active",
      closeTime: r.close_time,
      resolutionSource: r.resolution_source,
      yesBid: null,
      yesAsk: null,
      lastPrice: null,
      outcomeTokens: r.outcome_tokens ? (JSON.parse(r.outcome_tokens) as string[]) : null,
      evidenceHash: r.evidence_hash,
      fetchedAt: r.fetched_at,
    };
    if (agent.check(row).decision !== "allow") continue;
    try {
      const t = termsOf(row);
      out.set(row.marketId, { ...row, termsHash: termsHashSync(t) ?? (await termsHash(t)) });
    } catch {
      // Not representable: never proposed.
    }
  }
  return out;
}

/** Text-match active Kalshi and Polymarket markets and hand the candidates to governance. */
export async function proposePairs(deps: PipelineDeps, slice = PAIRING_SLICE): Promise<number> {
  if (!deps.governance) return 0;
  // A pair needs an active market on each venue: with one venue empty there is nothing to read or match.
  const present = await deps.db
    .prepare(
      `SELECT EXISTS (SELECT 1 FROM markets WHERE venue = 'kalshi' AND status = 'active')
          AND EXISTS (SELECT 1 FROM markets WHERE venue = 'polymarket' AND status = 'active') AS both`,
    )
    .first<{ both: number }>();
  if (!present?.both) return 0;
  // Stored rows passed the rules in force when their page was ingested; a rule added since may block some
  // that have not been re-ingested yet. Check them again against the current rules: no gate, no proposals.
  const agent = await gateWithCurrentRules(deps.db, deps.agent);
  if (agent.unavailable) {
    console.warn(`ingestion: no pair proposals: ${agent.unavailable}`);
    return 0;
  }
  const kalshi = await allowedForMatching(deps, agent, "kalshi", slice);
  const poly = await allowedForMatching(deps, agent, "polymarket", slice);
  const matches = matchCandidates(kalshi, poly);
  if (matches.length === 0) return 0;
  const [k, p] = await Promise.all([
    legRows(deps, agent, "kalshi", [...new Set(matches.map((m) => m.kalshi.marketId))]),
    legRows(deps, agent, "polymarket", [...new Set(matches.map((m) => m.polymarket.marketId))]),
  ]);
  const candidates: PairCandidate[] = [];
  for (const m of matches) {
    const kalshiRow = k.get(m.kalshi.marketId);
    const polyRow = p.get(m.polymarket.marketId);
    if (kalshiRow && polyRow)
      candidates.push({ kalshi: toLeg(kalshiRow), polymarket: toLeg(polyRow), similarity: m.similarity });
  }
  if (candidates.length === 0) return 0;
  const gov = deps.governance;
  await callPeer(deps, "governance.proposePairs", () => gov.proposePairs(candidates, deps.actor), true);
  return candidates.length;
}
