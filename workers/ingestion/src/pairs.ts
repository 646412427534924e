// Pair candidates: active Kalshi and Polymarket markets, gated again under the current rules, text-matched and
// handed to governance.
import type { MarketVenue } from "@paulp/contracts";
import type { StoredMarketRow } from "@paulp/venue-decode";
import { gateWithCurrentRules } from "./compliance";
import { callPeer, type PipelineDeps } from "./deps";
import { matchCandidates } from "./matching";
import { termsHash, termsHashSync, termsOf } from "./terms";

/** Text-match active Kalshi and Polymarket markets and hand the candidates to governance. */
export async function proposePairs(deps: PipelineDeps): Promise<number> {
  if (!deps.governance) return 0;
  // Stored rows passed the rules in force when their page was ingested; a rule added since may block some
  // that have not been re-ingested yet. Check them again against the current rules: no gate, no proposals.
  const agent = await gateWithCurrentRules(deps.db, deps.agent);
  if (agent.unavailable) {
    console.warn(`ingestion: no pair proposals: ${agent.unavailable}`);
    return 0;
  }
  const load = async (venue: MarketVenue): Promise<StoredMarketRow[]> => {
    const rows = await deps.db
      .prepare(
        "SELECT venue, market_id, event_id, series_id, title, category, close_time, rules, resolution_source, evidence_hash, terms_hash, outcome_tokens, fetched_at FROM markets WHERE venue = ?1 AND status = 'active'",
      )
      .bind(venue)
      .all<Record<string, string | null>>();
    const out: StoredMarketRow[] = [];
    for (const r of rows.results) {
      const row: StoredMarketRow = {
        venue,
        marketId: r.market_id!,
        eventId: r.event_id ?? null,
        seriesId: r.series_id ?? null,
        title: r.title!,
        category: r.category ?? null,
        status: "active",
        closeTime: r.close_time ?? null,
        rules: r.rules ?? null,
        resolutionSource: r.resolution_source ?? null,
        yesBid: null,
        yesAsk: null,
        lastPrice: null,
        outcomeTokens: r.outcome_tokens ? (JSON.parse(r.outcome_tokens) as string[]) : null,
        evidenceHash: r.evidence_hash!,
        termsHash: r.terms_hash!,
        fetchedAt: r.fetched_at!,
      };
      // The hash of the current scheme, from the stored fields: a row stored under an older scheme is proposed with
      // the same hash a fresh ingestion would give it (and getMarket serves), not with the one in its column.
      try {
        const t = termsOf(row);
        out.push({ ...row, termsHash: termsHashSync(t) ?? (await termsHash(t)) });
      } catch {
        // Not representable (a lone surrogate): never proposed.
      }
    }
    return out;
  };
  const allowed = (rows: StoredMarketRow[]) => rows.filter((r) => agent.check(r).decision === "allow");
  const [kalshi, poly] = [allowed(await load("kalshi")), allowed(await load("polymarket"))];
  const candidates = matchCandidates(kalshi, poly);
  if (candidates.length === 0) return 0;
  const gov = deps.governance;
  await callPeer(deps, "governance.proposePairs", () => gov.proposePairs(candidates, deps.actor), true);
  return candidates.length;
}
