import * as v from "valibot";
import { DollarString, IsoTime, isTimestamp, PRICE_RE, PriceString, schemaSkip } from "./parse";
import { complement, normPrice } from "./prices";
import type { MarketRow, MarketSkip, YesBook } from "./types";

/** Kalshi's production base URL (docs.kalshi.com); in dev and tests the simulator serves it. */
export const KALSHI_BASE = "https://api.elections.kalshi.com/trade-api/v2";

const Opt = <S extends v.GenericSchema>(s: S) => v.optional(v.nullable(s));

const TICKER_RE = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * One Kalshi market as `GET /markets` lists it (kalshi-typescript `models/market.ts`): only the fields Paul P
 * reads. The model has no `category` and no `series_ticker` (a market's series is its event's, its category the
 * series'), so neither is read. `title` is optional and deprecated. Checked market by market: one market that
 * does not fit is skipped and audited, never the whole page.
 */
export const KalshiMarket = v.object({
  ticker: v.pipe(v.string(), v.regex(TICKER_RE, "must be a ticker")),
  event_ticker: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  market_type: v.picklist(["binary", "scalar"]),
  title: Opt(v.pipe(v.string(), v.maxLength(1000))),
  yes_sub_title: Opt(v.pipe(v.string(), v.maxLength(1000))),
  status: v.pipe(v.string(), v.minLength(1), v.maxLength(32)),
  close_time: IsoTime,
  rules_primary: Opt(v.pipe(v.string(), v.maxLength(20_000))),
  rules_secondary: Opt(v.pipe(v.string(), v.maxLength(20_000))),
  yes_bid_dollars: Opt(PriceString),
  yes_ask_dollars: Opt(PriceString),
  last_price_dollars: Opt(PriceString),
});
/** One Kalshi market as read. */
export type KalshiMarket = v.InferOutput<typeof KalshiMarket>;

/** `GET /markets` → `{ markets, cursor }` (`GetMarketsResponse`); an empty cursor means the last page. */
export const KalshiMarketsPage = v.object({
  markets: v.array(v.unknown()),
  cursor: v.optional(v.nullable(v.string()), ""),
});

/** `GET /markets/{ticker}/orderbook` → `{ orderbook_fp: { yes_dollars, no_dollars } }`, bids only, best last. */
export const KalshiOrderbook = v.object({
  orderbook_fp: v.object({
    yes_dollars: v.optional(v.nullable(v.array(v.tuple([PriceString, DollarString]))), []),
    no_dollars: v.optional(v.nullable(v.array(v.tuple([PriceString, DollarString]))), []),
  }),
});

const str = (x: unknown, min: number, max: number): boolean =>
  typeof x === "string" && x.length >= min && x.length <= max;
const optStr = (x: unknown, max: number): boolean =>
  x === undefined || x === null || (typeof x === "string" && x.length <= max);
const optPrice = (x: unknown): boolean =>
  x === undefined || x === null || (typeof x === "string" && PRICE_RE.test(x));

/** The fast form of `KalshiMarket`: `true` only when the schema accepts `m` as it is (property-tested). */
export function isKalshiMarket(m: unknown): m is KalshiMarket {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return false;
  const o = m as Record<string, unknown>;
  return (
    typeof o.ticker === "string" &&
    TICKER_RE.test(o.ticker) &&
    str(o.event_ticker, 1, 128) &&
    (o.market_type === "binary" || o.market_type === "scalar") &&
    optStr(o.title, 1000) &&
    optStr(o.yes_sub_title, 1000) &&
    str(o.status, 1, 32) &&
    typeof o.close_time === "string" &&
    isTimestamp(o.close_time) &&
    optStr(o.rules_primary, 20_000) &&
    optStr(o.rules_secondary, 20_000) &&
    optPrice(o.yes_bid_dollars) &&
    optPrice(o.yes_ask_dollars) &&
    optPrice(o.last_price_dollars)
  );
}

/** The page envelope's fast path (the markets are checked one by one afterwards). */
export function isKalshiMarketsPage(x: unknown): x is v.InferOutput<typeof KalshiMarketsPage> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  return typeof o.cursor === "string" && Array.isArray(o.markets);
}

/** The markets of one page, checked one by one. */
export interface KalshiParsedPage {
  markets: KalshiMarket[];
  /** Markets that failed their schema (`schema`) or are scalar (`scalar`, by design). */
  skips: MarketSkip[];
  next: string | null;
}

/** Check each market of a page on its own: a bad one is named and skipped, never the page. */
export function parseKalshiMarkets(page: v.InferOutput<typeof KalshiMarketsPage>): KalshiParsedPage {
  const markets: KalshiMarket[] = [];
  const skips: MarketSkip[] = [];
  for (const raw of page.markets) {
    let m: KalshiMarket;
    if (isKalshiMarket(raw)) m = raw;
    else {
      const parsed = v.safeParse(KalshiMarket, raw);
      if (!parsed.success) {
        skips.push(schemaSkip(raw, "ticker", parsed.issues));
        continue;
      }
      m = parsed.output;
    }
    // Paul P trades binary contracts: a scalar market is listed, not ingested.
    if (m.market_type !== "binary") skips.push({ id: m.ticker, reason: "scalar" });
    else markets.push(m);
  }
  return { markets, skips, next: page.cursor ? page.cursor : null };
}

/** What ingestion knows of a market's event and series (kalshi_events, kalshi_series). */
export interface KalshiEventInfo {
  seriesTicker: string;
  title: string;
  /** The series' category; null while the series is unknown, or when it is empty. */
  category: string | null;
}

/** The list filters of a crawl: open markets only, multivariate combinations excluded (`getMarkets`). */
export const KALSHI_CRAWL_FILTERS = { status: "open", mve_filter: "exclude" } as const;

/** The URL of one page of the crawl: `GET /markets?limit&status=open&mve_filter=exclude&cursor`. */
export function kalshiMarketsUrl(cursor: string | null, limit: number): string {
  const u = new URL(`${KALSHI_BASE}/markets`);
  u.searchParams.set("limit", String(limit));
  u.searchParams.set("status", KALSHI_CRAWL_FILTERS.status);
  u.searchParams.set("mve_filter", KALSHI_CRAWL_FILTERS.mve_filter);
  if (cursor) u.searchParams.set("cursor", cursor);
  return u.href;
}

/**
 * One page of the incremental metadata crawl: `GET /markets?limit&min_updated_ts&mve_filter=exclude&cursor`, the
 * markets whose metadata changed after `sinceSec` (Unix seconds), whatever their status. The spec makes
 * `min_updated_ts` "incompatible with any other filters except mve_filter=exclude" and says it "tracks non-trading
 * changes only", so prices still come from the full pass (and the fast path for traded markets).
 */
export function kalshiUpdatedMarketsUrl(sinceSec: number, cursor: string | null, limit: number): string {
  const u = new URL(`${KALSHI_BASE}/markets`);
  u.searchParams.set("limit", String(limit));
  u.searchParams.set("min_updated_ts", String(sinceSec));
  u.searchParams.set("mve_filter", KALSHI_CRAWL_FILTERS.mve_filter);
  if (cursor) u.searchParams.set("cursor", cursor);
  return u.href;
}

/**
 * `GET /markets?tickers=…&limit=n`: these markets whatever their status ("Leave empty to return markets with any
 * status"), to learn what became of markets a complete open pass no longer listed.
 */
export function kalshiMarketsByTickerUrl(tickers: string[]): string {
  const u = new URL(`${KALSHI_BASE}/markets`);
  u.searchParams.set("limit", String(tickers.length));
  u.searchParams.set("tickers", tickers.join(","));
  return u.href;
}

/** `GET /events?tickers=…&limit=200`: the events (and so the series) of up to 200 event tickers. */
export function kalshiEventsUrl(eventTickers: string[], cursor: string | null): string {
  const u = new URL(`${KALSHI_BASE}/events`);
  u.searchParams.set("tickers", eventTickers.join(","));
  u.searchParams.set("limit", "200");
  if (cursor) u.searchParams.set("cursor", cursor);
  return u.href;
}

/** `GET /series` (the whole list: the spec gives it no paging), only those updated after `minUpdatedSec`. */
export function kalshiSeriesListUrl(minUpdatedSec: number | null): string {
  const u = new URL(`${KALSHI_BASE}/series`);
  if (minUpdatedSec !== null) u.searchParams.set("min_updated_ts", String(minUpdatedSec));
  return u.href;
}

/** `GET /series/{series_ticker}`. */
export function kalshiSeriesUrl(seriesTicker: string): string {
  return `${KALSHI_BASE}/series/${encodeURIComponent(seriesTicker)}`;
}

/** `GetEventsResponse` / `EventData`: the fields read (an event's series, and its title for untitled markets). */
export const KalshiEventsPage = v.object({
  events: v.array(
    v.object({
      event_ticker: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
      series_ticker: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
      title: v.pipe(v.string(), v.maxLength(1000)),
    }),
  ),
  cursor: v.optional(v.nullable(v.string()), ""),
});

const SeriesFields = v.object({
  ticker: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  title: v.pipe(v.string(), v.maxLength(1000)),
  category: v.pipe(v.string(), v.maxLength(200)),
  last_updated_ts: Opt(IsoTime),
});
/** `GetSeriesListResponse` (`models/series.ts`): the fields read. */
export const KalshiSeriesList = v.object({ series: v.array(SeriesFields) });
/** `GetSeriesResponse`. */
export const KalshiSeriesOne = v.object({ series: SeriesFields });

/** The URL of one market's order book. */
export function kalshiOrderbookUrl(ticker: string): string {
  return `${KALSHI_BASE}/markets/${encodeURIComponent(ticker)}/orderbook`;
}

/**
 * Rows from a page's markets. A market's series is its event's (`EventData.series_ticker`), its category the
 * series' (`Series.category`; the event's own `category` is deprecated and never read): unknown → null, which
 * risk refuses (NO_CATEGORY). A market with no `title` (deprecated) is named by its event's title and its
 * `yes_sub_title`; with neither it cannot be represented.
 */
export function kalshiRows(
  markets: KalshiMarket[],
  events: Pick<ReadonlyMap<string, KalshiEventInfo>, "get">,
): { rows: MarketRow[]; skips: MarketSkip[] } {
  const isoTime = isoCache();
  const rows: MarketRow[] = [];
  const skips: MarketSkip[] = [];
  for (const m of markets) {
    const event = events.get(m.event_ticker);
    const title =
      m.title ||
      (event?.title ? (m.yes_sub_title ? `${event.title}: ${m.yes_sub_title}` : event.title) : null);
    if (!title) {
      skips.push({ id: m.ticker, reason: "no_title", detail: "none of its own and its event is unknown" });
      continue;
    }
    rows.push({
      venue: "kalshi",
      marketId: m.ticker,
      eventId: m.event_ticker,
      seriesId: event?.seriesTicker ?? null,
      title: title.slice(0, 1000),
      // An empty category is no category (risk refuses an empty one).
      category: event?.category || null,
      status: m.status,
      closeTime: isoTime(m.close_time),
      rules: [m.rules_primary, m.rules_secondary].filter((r): r is string => !!r).join("\n\n") || null,
      resolutionSource: null,
      yesBid: normPrice(m.yes_bid_dollars),
      yesAsk: normPrice(m.yes_ask_dollars),
      lastPrice: normPrice(m.last_price_dollars),
      outcomeTokens: null,
    });
  }
  return { rows, skips };
}

/** `new Date(s).toISOString()`, memoised for one page: many markets of a page share a close time. */
export function isoCache(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    let iso = seen.get(s);
    if (iso === undefined) {
      iso = new Date(s).toISOString();
      seen.set(s, iso);
    }
    return iso;
  };
}

/** Kalshi lists bids only: YES bids as they are, YES asks at 1 − each NO bid. Best first. */
export function kalshiYesBook(book: v.InferOutput<typeof KalshiOrderbook>): YesBook {
  const yes = book.orderbook_fp.yes_dollars ?? [];
  const no = book.orderbook_fp.no_dollars ?? [];
  const bids = yes.map(([p, s]) => ({ price: normPrice(p)!, size: s })).sort((a, b) => cmp(b.price, a.price));
  const asks = no
    .map(([p, s]) => ({ price: complement(p), size: s }))
    .filter((l): l is { price: string; size: string } => l.price !== null)
    .sort((a, b) => cmp(a.price, b.price));
  return { bids, asks };
}

function cmp(a: string, b: string): number {
  return Number(a) - Number(b);
}
