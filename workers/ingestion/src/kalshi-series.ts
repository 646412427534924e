import {
  type KalshiEventInfo,
  KalshiEventsPage,
  KalshiSeriesList,
  KalshiSeriesOne,
  kalshiEventsUrl,
  kalshiSeriesListUrl,
  kalshiSeriesUrl,
} from "@paulp/venue-decode";
import type * as v from "valibot";
import type { PipelineDeps, Tally } from "./deps";
import { markEvidence } from "./evidence";
import { runBatches } from "./store";
import { fetchParsed } from "./venue-reads";

// Kalshi's category is the series' (kalshi-typescript models/series.ts `category`); a market has none and an
// event's is deprecated. A market names its event (`event_ticker`), the event its series (`series_ticker`). Both
// are kept (migration 0005) with the evidence that said them: events never change series, so each is fetched
// once; series are refreshed at the start of every pass with `min_updated_ts`.

/** Event tickers per `GET /events?tickers=` request (the endpoint's documented `limit` maximum is 200). */
export const EVENTS_PER_LOOKUP = 100;
/**
 * Longest lookup URL: every response is kept as evidence and its URL goes into the R2 object's custom metadata,
 * which R2 caps at 2,048 bytes in all; long Kalshi tickers would pass that at 100 per request.
 */
export const MAX_LOOKUP_URL = 1_500;

/** Event tickers in request-sized groups: at most EVENTS_PER_LOOKUP each, each URL under MAX_LOOKUP_URL. */
export function lookupChunks(tickers: string[]): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  for (const t of tickers) {
    const next = [...current, t];
    if (
      current.length > 0 &&
      (next.length > EVENTS_PER_LOOKUP || kalshiEventsUrl(next, null).length > MAX_LOOKUP_URL)
    ) {
      chunks.push(current);
      current = [t];
    } else current = next;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
/** Series fetched one by one per page at most (new series the list did not have yet); the rest wait a page. */
export const SERIES_LOOKUPS_PER_PAGE = 20;

interface SeriesFields {
  ticker: string;
  title: string;
  category: string;
  last_updated_ts?: string | null | undefined;
}

function upsertSeries(deps: PipelineDeps, series: SeriesFields[], evidenceHash: string, at: string) {
  const sql = `INSERT INTO kalshi_series (ticker, title, category, last_updated_ts, evidence_hash, fetched_at)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?2, ?3 FROM json_each(?1) WHERE true
    ON CONFLICT (ticker) DO UPDATE SET title = excluded.title, category = excluded.category,
      last_updated_ts = excluded.last_updated_ts, evidence_hash = excluded.evidence_hash, fetched_at = excluded.fetched_at`;
  const out: D1PreparedStatement[] = [];
  for (let i = 0; i < series.length; i += 500) {
    const rows = series
      .slice(i, i + 500)
      .map((s) => [s.ticker, s.title, s.category, s.last_updated_ts ?? null]);
    out.push(deps.db.prepare(sql).bind(JSON.stringify(rows), evidenceHash, at));
  }
  out.push(markEvidence(deps.db, evidenceHash, "accepted", null));
  return out;
}

/**
 * Bring the stored series up to date: `GET /series` in full the first time, then only those updated since the
 * newest stored `last_updated_ts`. A failure is counted and audited; markets keep whatever category is known.
 */
export async function syncKalshiSeries(deps: PipelineDeps, tally: Tally): Promise<void> {
  const newest = await deps.db
    .prepare("SELECT MAX(last_updated_ts) AS at FROM kalshi_series")
    .first<{ at: string | null }>();
  const since = newest?.at ? Math.floor(Date.parse(newest.at) / 1000) : null;
  const url = kalshiSeriesListUrl(Number.isFinite(since) ? since : null);
  const got = await fetchParsed(deps, tally, "kalshi", url, KalshiSeriesList);
  if (!got) return;
  const at = new Date(deps.now()).toISOString();
  await runBatches(deps.db, upsertSeries(deps, got.value.series, got.evidenceHash, at)).catch(() =>
    tally.add("d1_error"),
  );
}

interface KnownRow {
  event_ticker: string;
  series_ticker: string;
  title: string;
  category: string | null;
}

/** The statement reading what is stored of these events: series, title and the series' category (KnownRow). */
export function storedEventsStatement(db: D1Database, tickers: string[]): D1PreparedStatement {
  return db
    .prepare(
      `SELECT e.event_ticker, e.series_ticker, e.title, s.category FROM kalshi_events e
       LEFT JOIN kalshi_series s ON s.ticker = e.series_ticker
       WHERE e.event_ticker IN (SELECT value FROM json_each(?1))`,
    )
    .bind(JSON.stringify(tickers));
}

async function loadEvents(deps: PipelineDeps, tickers: string[]): Promise<KnownRow[]> {
  if (tickers.length === 0) return [];
  return (await storedEventsStatement(deps.db, tickers).all<KnownRow>()).results;
}

/**
 * What is known of these events (series, title, the series' category), fetching the events not yet stored
 * (`GET /events?tickers=`) and their series not yet stored (`GET /series/{t}`). Whatever could not be fetched
 * stays unknown: its markets get no category (risk refuses them, NO_CATEGORY) until a later page or pass.
 */
export async function kalshiEventInfo(
  deps: PipelineDeps,
  tally: Tally,
  eventTickers: string[],
  /** What `storedEventsStatement` answered for these tickers, when the caller read it already (else read here). */
  stored?: D1Result,
): Promise<Map<string, KalshiEventInfo>> {
  const unique = [...new Set(eventTickers)];
  let known = stored ? (stored.results as KnownRow[]) : await loadEvents(deps, unique);
  const have = new Set(known.map((r) => r.event_ticker));
  const missing = unique.filter((t) => !have.has(t));
  const at = () => new Date(deps.now()).toISOString();
  let fetched = false;
  for (const chunk of lookupChunks(missing)) {
    let cursor: string | null = null;
    for (let page = 0; page < 3; page++) {
      const got: { value: v.InferOutput<typeof KalshiEventsPage>; evidenceHash: string } | null =
        await fetchParsed(deps, tally, "kalshi", kalshiEventsUrl(chunk, cursor), KalshiEventsPage);
      if (!got) break;
      const events = got.value.events.filter((e) => chunk.includes(e.event_ticker));
      await runBatches(deps.db, [
        deps.db
          .prepare(
            `INSERT INTO kalshi_events (event_ticker, series_ticker, title, evidence_hash, fetched_at)
             SELECT value ->> 0, value ->> 1, value ->> 2, ?2, ?3 FROM json_each(?1) WHERE true
             ON CONFLICT (event_ticker) DO UPDATE SET series_ticker = excluded.series_ticker, title = excluded.title,
               evidence_hash = excluded.evidence_hash, fetched_at = excluded.fetched_at`,
          )
          .bind(
            JSON.stringify(events.map((e) => [e.event_ticker, e.series_ticker, e.title])),
            got.evidenceHash,
            at(),
          ),
        markEvidence(deps.db, got.evidenceHash, "accepted", null),
      ]).catch(() => tally.add("d1_error"));
      fetched = true;
      cursor = got.value.cursor || null;
      if (!cursor) break;
    }
  }
  if (fetched) known = await loadEvents(deps, unique);
  // Series the stored list does not have yet (created since the pass began): one by one, a few per page.
  const unknownSeries = [...new Set(known.filter((r) => r.category === null).map((r) => r.series_ticker))];
  let added = false;
  for (const ticker of unknownSeries.slice(0, SERIES_LOOKUPS_PER_PAGE)) {
    const got = await fetchParsed(deps, tally, "kalshi", kalshiSeriesUrl(ticker), KalshiSeriesOne);
    if (!got) continue;
    await runBatches(deps.db, upsertSeries(deps, [got.value.series], got.evidenceHash, at())).catch(() =>
      tally.add("d1_error"),
    );
    added = true;
  }
  if (added) known = await loadEvents(deps, unique);
  return new Map(
    known.map((r) => [
      r.event_ticker,
      { seriesTicker: r.series_ticker, title: r.title, category: r.category },
    ]),
  );
}
