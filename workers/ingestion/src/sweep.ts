// After a complete pass: the markets stored as active that the pass did not list are looked up by id and stored
// with the status the venue answers, or marked `unlisted`.
import type { MarketVenue } from "@paulp/contracts";
import {
  GAMMA_LOOKUP_IDS,
  gammaLookupChunks,
  gammaMarketsByIdUrl,
  kalshiMarketsByTickerUrl,
} from "@paulp/venue-decode";
import { audit, type PipelineDeps, type Tally } from "./deps";
import { preparePage, type RunContext } from "./page";

/** Tickers per `GET /markets?tickers=` lookup, and lookups after one pass (the rest wait for the next pass). */
export const KALSHI_LOOKUP_TICKERS = 100;
export const KALSHI_LOOKUPS_PER_PASS = 20;
/** Polymarket lookups after one pass (each as many condition ids as fit the URL bound; gammaLookupChunks). */
export const POLYMARKET_LOOKUPS_PER_PASS = 20;
/** Keyset pages followed per Polymarket lookup (gamma clamps `limit`, so one may come back in more than one). */
export const POLYMARKET_LOOKUP_PAGES = 3;

/**
 * Markets we store as `active` that a complete pass did not list (closed, settled, paused or archived since it last
 * saw them): each crawl asks only for open markets (Kalshi `status=open`, gamma `closed=false`), so without this they
 * would stay `active` forever. Each is looked up by id with no status filter — Kalshi `GET /markets?tickers=…` ("any
 * status"); gamma `GET /markets/keyset?limit=n&condition_ids=…`, the SDK's `listMarkets({ conditionIds, pageSize })`
 * — and stored with the status the venue answers, through evidence and the gate like any page. One the venue does not
 * answer for (Kalshi: settled before the historical cutoff; gamma: archived, which the public endpoint never lists)
 * or answers in a form we cannot store becomes `unlisted` (ours, not a venue status). A lookup that fails leaves its
 * markets for the next pass. Answers false when a lookup failed.
 */
export async function sweepNotListed(
  deps: PipelineDeps,
  venue: MarketVenue,
  run: RunContext,
  tally: Tally,
  passStartedAt: string,
): Promise<boolean> {
  const cap =
    venue === "kalshi"
      ? KALSHI_LOOKUP_TICKERS * KALSHI_LOOKUPS_PER_PASS
      : GAMMA_LOOKUP_IDS * POLYMARKET_LOOKUPS_PER_PASS;
  // Not listed by any page (or lookup) seen since the pass began: the pass's snapshots say what it saw.
  const seenSince = `SELECT j.value FROM market_snapshots p, json_each(p.market_ids) j
    WHERE p.venue = ?1 AND p.seen_at >= ?2`;
  const stale = await deps.db
    .prepare(
      `SELECT market_id FROM markets WHERE venue = ?1 AND status = 'active' AND market_id NOT IN (${seenSince})
       ORDER BY market_id LIMIT ?3`,
    )
    .bind(venue, passStartedAt, cap)
    .all<{ market_id: string }>();
  const ids = stale.results.map((r) => r.market_id);
  if (ids.length === 0) return true;
  const closed: { id: string; status: string }[] = [];
  const chunks =
    venue === "kalshi"
      ? Array.from({ length: Math.ceil(ids.length / KALSHI_LOOKUP_TICKERS) }, (_, i) =>
          ids.slice(i * KALSHI_LOOKUP_TICKERS, (i + 1) * KALSHI_LOOKUP_TICKERS),
        )
      : gammaLookupChunks(ids);
  for (const chunk of chunks) {
    let cursor: string | null = null;
    for (let page = 0; page < (venue === "kalshi" ? 1 : POLYMARKET_LOOKUP_PAGES); page++) {
      // Only while this run still holds the venue: the page renews the lease with its reads, as every crawl page.
      const url = venue === "kalshi" ? kalshiMarketsByTickerUrl(chunk) : gammaMarketsByIdUrl(chunk, cursor);
      const prep = await preparePage(deps, run, venue, url, cursor, tally);
      if (!prep.ok) return false;
      const done = await prep.commit();
      if (!done.ok) return false;
      for (const r of done.storedRows)
        if (r.status !== "active") closed.push({ id: r.marketId, status: r.status });
      cursor = venue === "kalshi" ? null : done.next;
      if (cursor === null) break;
    }
  }
  // Still active and still not seen since the pass began: the venue did not answer for it in a form we store. Its
  // content key is cleared, so the row is rewritten (active again) if it ever reappears unchanged.
  const unlisted = await deps.db
    .prepare(
      `UPDATE markets SET status = 'unlisted', content_key = NULL WHERE venue = ?1 AND status = 'active'
         AND market_id IN (SELECT value FROM json_each(?3)) AND market_id NOT IN (${seenSince}) RETURNING market_id`,
    )
    .bind(venue, passStartedAt, JSON.stringify(ids))
    .all<{ market_id: string }>();
  for (const r of unlisted.results) closed.push({ id: r.market_id, status: "unlisted" });
  if (closed.length > 0) {
    const statuses: Record<string, number> = {};
    for (const c of closed) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
    await audit(deps, tally, "ingestion.markets_closed", {
      venue,
      passStartedAt,
      checked: ids.length,
      count: closed.length,
      statuses,
      markets: closed.slice(0, 50),
    });
  }
  return true;
}
