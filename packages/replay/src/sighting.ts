// One sighting of the timeline, read as ingestion reads it: what its URL says it is, then its bytes decoded with
// ingestion's own decoders (@paulp/venue-decode: market pages → marks, books → books), the marks applied to the
// replay's portfolio, and on a book of a pair's leg a decision (src/orders.ts).
import type { MarkUpdate } from "@paulp/contracts";
import { applyMarksEverywhere, marketKey, type ParsedLimits } from "@paulp/risk-rules";
import {
  decodeBook,
  GammaKeysetPage,
  gammaPage,
  isKalshiMarketsPage,
  type KalshiEventInfo,
  KalshiEventsPage,
  KalshiMarketsPage,
  KalshiSeriesList,
  KalshiSeriesOne,
  kalshiRows,
  type MarketRow,
  markFrom,
  parseBody,
  parseKalshiMarkets,
} from "@paulp/venue-decode";
import type { VerifiedSighting } from "./evidence";
import { decide } from "./orders";
import { afterChange } from "./portfolio";
import type { ReplayPair, ReplayState } from "./state";

/** What a sighting's URL says it is (the URLs ingestion fetches, docs/venues.md). */
type Read =
  | { kind: "kalshi_markets" | "kalshi_events" | "kalshi_series" | "gamma_markets" }
  | { kind: "kalshi_book"; ticker: string }
  | { kind: "clob_book"; tokenId: string }
  | { kind: "other" };

function classify(s: VerifiedSighting): Read {
  let u: URL;
  try {
    u = new URL(s.url);
  } catch {
    return { kind: "other" };
  }
  if (s.venue === "kalshi") {
    const book = /\/markets\/([^/]+)\/orderbook$/.exec(u.pathname);
    if (book) return { kind: "kalshi_book", ticker: decodeURIComponent(book[1]!) };
    if (u.pathname.endsWith("/markets")) return { kind: "kalshi_markets" };
    if (u.pathname.endsWith("/events")) return { kind: "kalshi_events" };
    if (/\/series(\/[^/]+)?$/.test(u.pathname)) return { kind: "kalshi_series" };
  }
  if (s.venue === "polymarket") {
    if (u.pathname === "/book" && u.searchParams.get("token_id"))
      return { kind: "clob_book", tokenId: u.searchParams.get("token_id")! };
    if (u.pathname === "/markets/keyset") return { kind: "gamma_markets" };
  }
  return { kind: "other" };
}

/** What became of one sighting: read, not one the engine reads (or not 2xx), or not decodable. */
type Outcome = "read" | "skipped" | "undecodable";

export function consume(st: ReplayState, s: VerifiedSighting, limits: ParsedLimits): Outcome {
  // A refusal's bytes are evidence too, but ingestion reads only a 2xx answer.
  if (s.status !== undefined && (s.status < 200 || s.status > 299)) return "skipped";
  const read = classify(s);
  switch (read.kind) {
    case "kalshi_events": {
      const p = parseBody(KalshiEventsPage, s.bytes);
      if (!p.ok) return "undecodable";
      for (const e of p.value.events)
        st.kalshiEvents[e.event_ticker] = { seriesTicker: e.series_ticker, title: e.title };
      return "read";
    }
    case "kalshi_series": {
      const list = parseBody(KalshiSeriesList, s.bytes);
      const one = list.ok ? null : parseBody(KalshiSeriesOne, s.bytes);
      const series = list.ok ? list.value.series : one?.ok ? [one.value.series] : null;
      if (!series) return "undecodable";
      for (const x of series) st.kalshiSeries[x.ticker] = x.category;
      return "read";
    }
    case "kalshi_markets": {
      const p = parseBody(KalshiMarketsPage, s.bytes, isKalshiMarketsPage);
      if (!p.ok) return "undecodable";
      const { markets } = parseKalshiMarkets(p.value);
      return applyRows(st, s, kalshiRows(markets, eventInfo(st)).rows, limits);
    }
    case "gamma_markets": {
      const p = parseBody(GammaKeysetPage, s.bytes);
      if (!p.ok) return "undecodable";
      return applyRows(st, s, gammaPage(p.value).rows, limits);
    }
    case "kalshi_book": {
      const pairs = st.config.pairs.filter((p) => p.kalshi.marketId === read.ticker);
      if (pairs.length === 0) return "skipped";
      return applyBook(st, s, "kalshi", read.ticker, undefined, pairs, limits);
    }
    case "clob_book": {
      const pairs = st.config.pairs.filter((p) => p.polymarket.yesToken === read.tokenId);
      if (pairs.length === 0) return "skipped";
      return applyBook(st, s, "polymarket", pairs[0]!.polymarket.marketId, read.tokenId, pairs, limits);
    }
    default:
      return "skipped";
  }
}

/** Ingestion's view of a Kalshi market's event and series (`kalshiRows` reads it). */
function eventInfo(st: ReplayState): Pick<ReadonlyMap<string, KalshiEventInfo>, "get"> {
  return {
    get: (eventTicker: string) => {
      const e = st.kalshiEvents[eventTicker];
      if (!e) return undefined;
      return {
        seriesTicker: e.seriesTicker,
        title: e.title,
        category: st.kalshiSeries[e.seriesTicker] || null,
      };
    },
  };
}

/** A page's rows as the marks ingestion pushes to risk (`markFrom`: mid of bid and ask, else the last price). */
function applyRows(st: ReplayState, s: VerifiedSighting, rows: MarketRow[], limits: ParsedLimits): Outcome {
  const marks: MarkUpdate[] = [];
  for (const r of rows) {
    const category = r.category ?? startCategory(st, r.venue, r.marketId, s.atMs);
    st.categories[marketKey(r.venue, r.marketId)] = category;
    const price = markFrom(r.yesBid, r.yesAsk, r.lastPrice);
    if (price === null) continue;
    marks.push({
      venue: r.venue,
      market: r.marketId,
      price,
      category,
      evidenceHash: s.hash,
      observedAt: s.fetchedAt,
      bestBid: r.yesBid,
      bestAsk: r.yesAsk,
    });
  }
  return applyMarks(st, marks, s.atMs, limits);
}

function applyBook(
  st: ReplayState,
  s: VerifiedSighting,
  venue: "kalshi" | "polymarket",
  marketId: string,
  yesToken: string | undefined,
  pairs: ReplayPair[],
  limits: ParsedLimits,
): Outcome {
  const decoded = decodeBook({ venue, marketId }, yesToken, s.bytes);
  if (!decoded.ok) return "undecodable";
  const key = marketKey(venue, marketId);
  st.books[key] = { bids: decoded.book.bids, asks: decoded.book.asks, hash: s.hash, atMs: s.atMs };
  // The fast path's mark: the book's mid, with its best bid and ask for risk's collar.
  const bid = decoded.book.bids[0]?.price ?? null;
  const ask = decoded.book.asks[0]?.price ?? null;
  const price = markFrom(bid, ask, null);
  if (price !== null)
    applyMarks(
      st,
      [
        {
          venue,
          market: marketId,
          price,
          category: st.categories[key] ?? startCategory(st, venue, marketId, s.atMs),
          evidenceHash: s.hash,
          observedAt: s.fetchedAt,
          bestBid: bid,
          bestAsk: ask,
        },
      ],
      s.atMs,
      limits,
    );
  for (const pair of pairs) decide(st, pair, s.atMs, limits);
  return "read";
}

/**
 * A Kalshi leg's category as ingestion held it when the replay started (the config's), once ingestion had it:
 * what risk holds for a market from before the window. Null for any other market, or before `since`.
 */
function startCategory(st: ReplayState, venue: string, marketId: string, atMs: number): string | null {
  if (venue !== "kalshi") return null;
  for (const p of st.config.pairs) {
    const c = p.kalshi.category;
    if (p.kalshi.marketId === marketId && c && Date.parse(c.since) <= atMs) return c.name;
  }
  return null;
}

function applyMarks(st: ReplayState, marks: MarkUpdate[], atMs: number, limits: ParsedLimits): Outcome {
  if (marks.length === 0) return "read";
  const r = applyMarksEverywhere(st.portfolio, st.reservations, null, marks);
  // Risk refuses a batch with a malformed mark whole; so does the replay.
  if (r.error) return "undecodable";
  afterChange(st, atMs, limits);
  return "read";
}
