// A replay's Kalshi legs' categories as ingestion holds them when it starts. Risk refuses an opening order on a
// market with no category (NO_CATEGORY) and takes the category from ingestion's stored market: its series'
// category, through its event. Ingestion looks an event up once and the series list once a pass, so a replay's
// window rarely holds those answers; the replay takes what ingestion holds, from when it held both answers, and the
// manifest names them (the hashes of the event lookup and the series answer).
import type { ReplayLegCategory } from "@paulp/contracts";

interface Row {
  market_id: string;
  category: string | null;
  event_hash: string | null;
  event_at: string | null;
  series_hash: string | null;
  series_at: string | null;
}

/** The category of each of these Kalshi markets that ingestion holds, by ticker (absent: none known). */
export async function legCategories(
  db: D1Database,
  tickers: readonly string[],
): Promise<Map<string, ReplayLegCategory>> {
  if (tickers.length === 0) return new Map();
  // Each answer's time is its evidence's first fetch: a series row is re-stamped when a later list repeats it.
  const { results } = await db
    .prepare(
      `SELECT m.market_id, s.category, e.evidence_hash AS event_hash, ee.fetched_at AS event_at,
              s.evidence_hash AS series_hash, se.fetched_at AS series_at
       FROM markets m
       JOIN kalshi_events e ON e.event_ticker = m.event_id
       JOIN kalshi_series s ON s.ticker = e.series_ticker
       LEFT JOIN evidence ee ON ee.hash = e.evidence_hash
       LEFT JOIN evidence se ON se.hash = s.evidence_hash
       WHERE m.venue = 'kalshi' AND m.market_id IN (SELECT value FROM json_each(?1))`,
    )
    .bind(JSON.stringify([...new Set(tickers)]))
    .all<Row>();
  const out = new Map<string, ReplayLegCategory>();
  for (const r of results) {
    // An empty category is no category (as ingestion stores it: risk refuses an empty one).
    if (!r.category || !r.event_hash || !r.series_hash || !r.event_at || !r.series_at) continue;
    const since = Math.max(Date.parse(r.event_at), Date.parse(r.series_at));
    if (!Number.isFinite(since)) continue;
    out.set(r.market_id, {
      name: r.category,
      since: new Date(since).toISOString(),
      evidence: [r.event_hash, r.series_hash],
    });
  }
  return out;
}
