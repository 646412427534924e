import * as v from "valibot";
import { complement, normDecimal } from "../decimal";
import { DollarString, IsoTime, isTimestamp, PRICE_RE, PriceString } from "./parse";
import type { MarketPage, MarketRow, YesBook } from "./types";

/** Kalshi's production base URL (docs.kalshi.com); in dev and tests the simulator serves it. */
export const KALSHI_BASE = "https://api.elections.kalshi.com/trade-api/v2";

const Opt = <S extends v.GenericSchema>(s: S) => v.optional(v.nullable(s));

const TICKER_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** A Kalshi market as listed by `GET /markets` (fixed-point `*_dollars` fields). */
export const KalshiMarket = v.object({
  ticker: v.pipe(v.string(), v.regex(TICKER_RE, "must be a ticker")),
  event_ticker: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  series_ticker: Opt(v.string()),
  title: v.pipe(v.string(), v.minLength(1), v.maxLength(1000)),
  category: Opt(v.string()),
  status: v.pipe(v.string(), v.minLength(1), v.maxLength(32)),
  close_time: Opt(IsoTime),
  rules_primary: Opt(v.pipe(v.string(), v.maxLength(20_000))),
  rules_secondary: Opt(v.pipe(v.string(), v.maxLength(20_000))),
  yes_bid_dollars: Opt(PriceString),
  yes_ask_dollars: Opt(PriceString),
  last_price_dollars: Opt(PriceString),
});

/** `GET /markets` → `{ markets, cursor }`; an empty cursor means the last page. */
export const KalshiMarketsPage = v.object({
  markets: v.array(KalshiMarket),
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

/** The fast form of `KalshiMarket`: `true` only when the schema accepts `m` as it is. */
function isKalshiMarket(m: unknown): boolean {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return false;
  const o = m as Record<string, unknown>;
  const close = o.close_time;
  return (
    typeof o.ticker === "string" &&
    TICKER_RE.test(o.ticker) &&
    str(o.event_ticker, 1, 128) &&
    optStr(o.series_ticker, Number.POSITIVE_INFINITY) &&
    str(o.title, 1, 1000) &&
    optStr(o.category, Number.POSITIVE_INFINITY) &&
    str(o.status, 1, 32) &&
    (close === undefined || close === null || (typeof close === "string" && isTimestamp(close))) &&
    optStr(o.rules_primary, 20_000) &&
    optStr(o.rules_secondary, 20_000) &&
    optPrice(o.yes_bid_dollars) &&
    optPrice(o.yes_ask_dollars) &&
    optPrice(o.last_price_dollars)
  );
}

/**
 * Fast path of `KalshiMarketsPage` for `parseBody`: the same checks, written out, answering `true` only when
 * valibot would accept the page unchanged (a missing cursor, which valibot defaults, goes to valibot). Anything
 * else goes to valibot, which decides and names the issue. Property-tested equivalent (test/validate.test.ts).
 */
export function isKalshiMarketsPage(x: unknown): x is v.InferOutput<typeof KalshiMarketsPage> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  if (!(o.cursor === null || typeof o.cursor === "string")) return false;
  const markets = o.markets;
  if (!Array.isArray(markets)) return false;
  for (let i = 0; i < markets.length; i++) if (!isKalshiMarket(markets[i])) return false;
  return true;
}

/** The URL of one page of the market list. */
export function kalshiMarketsUrl(cursor: string | null, limit: number): string {
  const u = new URL(`${KALSHI_BASE}/markets`);
  u.searchParams.set("limit", String(limit));
  if (cursor) u.searchParams.set("cursor", cursor);
  return u.href;
}

/** The URL of one market's order book. */
export function kalshiOrderbookUrl(ticker: string): string {
  return `${KALSHI_BASE}/markets/${encodeURIComponent(ticker)}/orderbook`;
}

/** Normalise a validated page. */
export function kalshiPage(page: v.InferOutput<typeof KalshiMarketsPage>): MarketPage {
  const isoTime = isoCache();
  const rows: MarketRow[] = page.markets.map((m) => ({
    venue: "kalshi",
    marketId: m.ticker,
    eventId: m.event_ticker,
    seriesId: m.series_ticker ?? m.event_ticker.split("-")[0] ?? null,
    title: m.title,
    // An empty category is no category (risk refuses an empty one).
    category: m.category || null,
    status: m.status,
    closeTime: m.close_time ? isoTime(m.close_time) : null,
    rules: [m.rules_primary, m.rules_secondary].filter((r): r is string => !!r).join("\n\n") || null,
    resolutionSource: null,
    yesBid: normDecimal(m.yes_bid_dollars),
    yesAsk: normDecimal(m.yes_ask_dollars),
    lastPrice: normDecimal(m.last_price_dollars),
    outcomeTokens: null,
  }));
  return { rows, next: page.cursor ? page.cursor : null, skipped: 0 };
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
  const bids = yes
    .map(([p, s]) => ({ price: normDecimal(p)!, size: s }))
    .sort((a, b) => cmp(b.price, a.price));
  const asks = no
    .map(([p, s]) => ({ price: complement(p), size: s }))
    .filter((l): l is { price: string; size: string } => l.price !== null)
    .sort((a, b) => cmp(a.price, b.price));
  return { bids, asks };
}

function cmp(a: string, b: string): number {
  return Number(a) - Number(b);
}
