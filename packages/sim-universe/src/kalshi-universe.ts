// Kalshi's half of the seeded universe: series, events and markets, each generated on demand from its index, and
// their order books. One generator, over the 400-line guide, because series, events and markets derive from each
// other's indexes (an event's markets, a market's event and series); splitting it would split that arithmetic.
import type * as K from "kalshi-typescript";
import {
  BASE_YEAR,
  bpToDollars,
  CITIES,
  closeDate,
  closesAt,
  fairNow,
  fmtThreshold,
  hash32,
  INDICATORS,
  indicatorTerms,
  type KalshiBook,
  LOOKALIKE_PAIRS,
  levels,
  MONTH_NAMES,
  MONTHS,
  pairSpec,
  rng,
  roundToCent,
  TRUE_PAIRS,
  UNIVERSE_SIZES,
  type UniverseMode,
} from "./seeds";

export const PLANTED = TRUE_PAIRS + LOOKALIKE_PAIRS;
/** Generic markets come in events of this many (a strike ladder). */
export const MARKETS_PER_EVENT = 5;
export const SERIES_CATEGORIES = [
  "Climate and Weather",
  "Politics",
  "Entertainment",
  "Science and Technology",
  "Sports",
  "Financials",
  "Companies",
  "Health",
  "World",
] as const;
/** Multivariate (combination) series: every fifth generic event is a combination event in one of them. */
export const MVE_SERIES = [
  { ticker: "KXMVESPORTSMULTIGAME", title: "Multi-game sports combinations", category: "Sports" },
  { ticker: "KXMVECROSSCATEGORY", title: "Cross-category combinations", category: "Sports" },
] as const;
/** The generic series at this index has an empty category (a series we cannot categorise). */
export const KALSHI_UNCATEGORISED_SERIES_INDEX = 5;
/** The market at this index has an empty `close_time`: one market ingestion cannot represent. */
export const KALSHI_UNREPRESENTABLE_INDEX = PLANTED + 3;
/** The market at this index is a scalar market (not ingested: Paul P trades binary contracts). */
export const KALSHI_SCALAR_INDEX = PLANTED + 8;

export type MarketStatus = K.Market["status"];

/** How many Kalshi markets, series and events a mode lists. */
export function kalshiCounts(mode: UniverseMode): { markets: number; series: number; events: number } {
  const sz = UNIVERSE_SIZES[mode];
  return {
    markets: sz.kalshiMarkets,
    series: INDICATORS.length + MVE_SERIES.length + sz.kalshiSeries,
    events: Math.ceil((sz.kalshiMarkets - PLANTED) / MARKETS_PER_EVENT),
  };
}

export interface SeriesSeed {
  ticker: string;
  title: string;
  category: string;
  frequency: string;
  source: string;
  /** Position in the series list. */
  index: number;
}

export function genericSeries(s: number): SeriesSeed {
  const city = CITIES[s % CITIES.length]!;
  const category =
    s === KALSHI_UNCATEGORISED_SERIES_INDEX
      ? ""
      : s % 7 === 3
        ? SERIES_CATEGORIES[s % SERIES_CATEGORIES.length]!
        : "Climate and Weather";
  return {
    ticker: `KXHIGH${city.replace(/\s/g, "").slice(0, 3).toUpperCase()}${s}`,
    title: `Highest temperature in ${city} (${s})`,
    category,
    frequency: "daily",
    source: "National Weather Service",
    index: INDICATORS.length + MVE_SERIES.length + s,
  };
}

/** Series by position: the indicator series, the combination series, then the generic ones. */
export function seriesAt(index: number): SeriesSeed {
  if (index < INDICATORS.length) {
    const ind = INDICATORS[index]!;
    return {
      ticker: ind.series,
      title: ind.name,
      category: ind.category,
      frequency: "monthly",
      source: ind.source,
      index,
    };
  }
  const m = index - INDICATORS.length;
  if (m < MVE_SERIES.length) {
    const mve = MVE_SERIES[m]!;
    return { ...mve, frequency: "custom", source: "League results", index };
  }
  return genericSeries(m - MVE_SERIES.length);
}

/** The series with this ticker, or null. */
export function seriesByTicker(mode: UniverseMode, ticker: string): SeriesSeed | null {
  const ind = INDICATORS.findIndex((i) => i.series === ticker);
  if (ind >= 0) return seriesAt(ind);
  const mve = MVE_SERIES.findIndex((m) => m.ticker === ticker);
  if (mve >= 0) return seriesAt(INDICATORS.length + mve);
  const m = /^KXHIGH[A-Z]{3}(\d{1,6})$/.exec(ticker);
  const s = m ? Number(m[1]) : -1;
  if (s < 0 || s >= UNIVERSE_SIZES[mode].kalshiSeries) return null;
  const g = genericSeries(s);
  return g.ticker === ticker ? g : null;
}

/** When a series' metadata last changed (its `last_updated_ts`; `min_updated_ts` filters on it). */
export function seriesUpdatedMs(s: SeriesSeed): number {
  return Date.UTC(2026, 0, 1) + s.index * 3_600_000;
}

/** A series in the official shape (models/series.ts). */
export function kalshiSeriesWire(s: SeriesSeed): K.Series {
  return {
    ticker: s.ticker,
    frequency: s.frequency,
    title: s.title,
    category: s.category,
    categories: s.category ? [s.category] : [],
    tags: s.index % 4 === 1 ? null : [s.frequency],
    settlement_sources:
      s.index % 9 === 2
        ? null
        : [{ name: s.source, url: `https://${s.source.toLowerCase().replace(/[^a-z]+/g, "")}.example` }],
    contract_url: `https://kalshi.example/contracts/${s.ticker}.pdf`,
    contract_terms_url: `https://kalshi.example/terms/${s.ticker}.pdf`,
    fee_type: "quadratic",
    fee_multiplier: 1,
    additional_prohibitions: s.index % 5 === 0 ? null : [],
    last_updated_ts: new Date(seriesUpdatedMs(s)).toISOString(),
  } satisfies K.Series;
}

/** Every series of the mode (the spec's `GET /series` has no paging), optionally updated after `minUpdatedMs`. */
export function kalshiSeriesList(mode: UniverseMode, minUpdatedMs?: number): K.Series[] {
  const out: K.Series[] = [];
  for (let i = 0; i < kalshiCounts(mode).series; i++) {
    const s = seriesAt(i);
    if (minUpdatedMs === undefined || seriesUpdatedMs(s) > minUpdatedMs) out.push(kalshiSeriesWire(s));
  }
  return out;
}

/** One series in the official shape, or null. */
export function kalshiSeriesByTicker(mode: UniverseMode, ticker: string): K.Series | null {
  const s = seriesByTicker(mode, ticker);
  return s ? kalshiSeriesWire(s) : null;
}

export interface EventSeed {
  ticker: string;
  series: SeriesSeed;
  title: string;
  subTitle: string;
  status: MarketStatus;
  mve: boolean;
  close: Date;
  /** Index of its first market. */
  firstMarket: number;
  marketCount: number;
}

/** Generic event `e` (a planted pair's event is `plantedEvent`). */
export function genericEvent(seed: number, mode: UniverseMode, e: number): EventSeed {
  const r = rng(hash32(`kevent:${seed}:${e}`));
  const mve = e % 5 === 4;
  const series = mve
    ? seriesAt(INDICATORS.length + (e % MVE_SERIES.length))
    : genericSeries(e % UNIVERSE_SIZES[mode].kalshiSeries);
  const month = Math.floor(r() * 12);
  const day = 1 + Math.floor(r() * 28);
  const close = closeDate(month, day);
  const tens = e % 10;
  const status: MarketStatus =
    tens === 1 || tens === 6
      ? "closed"
      : tens === 3
        ? "finalized"
        : tens === 7 && !mve
          ? "initialized"
          : "active";
  const when = `${MONTH_NAMES[month]} ${day}, ${BASE_YEAR}`;
  const firstMarket = PLANTED + e * MARKETS_PER_EVENT;
  return {
    ticker: `${series.ticker}-${String(BASE_YEAR).slice(2)}${MONTHS[month]}${String(day).padStart(2, "0")}E${e}`,
    series,
    title: mve ? `Combination ${e}: ${when}` : `${series.title} on ${when}?`,
    subTitle: `On ${when}`,
    status,
    mve,
    close,
    firstMarket,
    marketCount: Math.max(0, Math.min(MARKETS_PER_EVENT, UNIVERSE_SIZES[mode].kalshiMarkets - firstMarket)),
  };
}

export function plantedEventTicker(seed: number, i: number): string {
  const p = pairSpec(seed, i);
  return `${p.ind.series}-${String(BASE_YEAR).slice(2)}${MONTHS[p.month]}`;
}

export function plantedEvent(seed: number, ticker: string): EventSeed | null {
  const members: number[] = [];
  for (let i = 0; i < PLANTED; i++) if (plantedEventTicker(seed, i) === ticker) members.push(i);
  if (members.length === 0) return null;
  const p = pairSpec(seed, members[0]!);
  const series = seriesAt(INDICATORS.indexOf(p.ind));
  return {
    ticker,
    series,
    title: `${p.ind.name[0]!.toUpperCase()}${p.ind.name.slice(1)} in ${MONTH_NAMES[p.month]} ${BASE_YEAR}`,
    subTitle: `${MONTH_NAMES[p.month]} ${BASE_YEAR}`,
    status: "active",
    mve: false,
    close: closeDate(p.month, 15),
    firstMarket: members[0]!,
    marketCount: members.length,
  };
}

/** The event with this ticker, or null. */
export function eventByTicker(seed: number, mode: UniverseMode, ticker: string): EventSeed | null {
  const m = /E(\d{1,7})$/.exec(ticker);
  if (m) {
    const e = Number(m[1]);
    if (e < kalshiCounts(mode).events) {
      const ev = genericEvent(seed, mode, e);
      if (ev.ticker === ticker) return ev;
    }
  }
  return plantedEvent(seed, ticker);
}

export function eventMarkets(seed: number, mode: UniverseMode, ev: EventSeed, now: number): K.Market[] {
  const out: K.Market[] = [];
  if (ev.firstMarket < PLANTED) {
    for (let i = 0; i < PLANTED; i++)
      if (plantedEventTicker(seed, i) === ev.ticker) out.push(kalshiMarketWire(seed, mode, i, now));
  } else
    for (let k = 0; k < ev.marketCount; k++) out.push(kalshiMarketWire(seed, mode, ev.firstMarket + k, now));
  return out;
}

/** An event in the official shape (models/event-data.ts). */
export function eventWire(
  seed: number,
  mode: UniverseMode,
  ev: EventSeed,
  nested: boolean,
  now: number,
): K.EventData {
  const h = hash32(ev.ticker);
  return {
    event_ticker: ev.ticker,
    series_ticker: ev.series.ticker,
    sub_title: ev.subTitle,
    title: ev.title,
    collateral_return_type: "binary",
    mutually_exclusive: false,
    // Deprecated (the series' category is the one to use); set on some events, and never the series' own.
    ...(h % 3 === 0 ? { category: "Deprecated event category" } : {}),
    strike_date: h % 2 === 0 ? ev.close.toISOString() : null,
    strike_period: null,
    ...(nested ? { markets: eventMarkets(seed, mode, ev, now) } : {}),
    settlement_sources: h % 5 === 0 ? null : [{ name: ev.series.source }],
    last_updated_ts: new Date(Date.UTC(2026, 0, 2)).toISOString(),
  } satisfies K.EventData;
}

/** `GET /events/{event_ticker}`: the event, and its markets (the deprecated top-level list, always filled). */
export function kalshiEvent(
  seed: number,
  mode: UniverseMode,
  ticker: string,
  nested: boolean,
  now: number,
): K.GetEventResponse | null {
  const ev = eventByTicker(seed, mode, ticker);
  if (!ev) return null;
  return { event: eventWire(seed, mode, ev, nested, now), markets: eventMarkets(seed, mode, ev, now) };
}

/** Events from position `start` (planted events first, then generic), filtered, up to `limit`. */
export function kalshiEventsPage(
  seed: number,
  mode: UniverseMode,
  o: {
    start: number;
    limit: number;
    tickers?: string[];
    series?: string;
    status?: MarketStatus;
    nested: boolean;
    now: number;
  },
): { events: K.EventData[]; next: number | null } {
  const planted = [...new Set(Array.from({ length: PLANTED }, (_, i) => plantedEventTicker(seed, i)))];
  const total = planted.length + kalshiCounts(mode).events;
  const at = (k: number) =>
    k < planted.length ? plantedEvent(seed, planted[k]!)! : genericEvent(seed, mode, k - planted.length);
  const events: K.EventData[] = [];
  if (o.tickers) {
    // A ticker filter answers those events only (at most `limit` of them, in the order asked).
    const found = o.tickers
      .slice(o.start)
      .map((t) => eventByTicker(seed, mode, t))
      .filter((e): e is EventSeed => e !== null);
    for (const ev of found.slice(0, o.limit)) events.push(eventWire(seed, mode, ev, o.nested, o.now));
    const next = o.start + o.limit < o.tickers.length ? o.start + o.limit : null;
    return { events, next };
  }
  let k = o.start;
  for (; k < total && events.length < o.limit; k++) {
    const ev = at(k);
    if (o.series && ev.series.ticker !== o.series) continue;
    if (o.status && ev.status !== o.status) continue;
    events.push(eventWire(seed, mode, ev, o.nested, o.now));
  }
  return { events, next: k < total ? k : null };
}

/** The fair YES price (basis points) a Kalshi market's quotes move around. */
export function kalshiFairBp(seed: number, i: number): number {
  const r = rng(hash32(`kalshi:${seed}:${i}`));
  return 300 + Math.floor(r() * 9400);
}

export interface MarketSeed {
  i: number;
  ticker: string;
  event: EventSeed;
  title: string | null;
  yesSub: string;
  noSub: string;
  rulesPrimary: string;
  rulesSecondary: string;
  close: Date;
  open: Date;
  floor: number | null;
  strike: K.Market["strike_type"];
  scalar: boolean;
}

export function marketSeed(seed: number, mode: UniverseMode, i: number): MarketSeed {
  const open = new Date(Date.UTC(2026, 0, 1 + (i % 300)));
  if (i < PLANTED) {
    const p = pairSpec(seed, i);
    const close = closeDate(p.month, 15);
    const threshold = fmtThreshold(p.ind, p.k);
    const event = plantedEvent(seed, plantedEventTicker(seed, i))!;
    return {
      i,
      ticker: `${event.ticker}-T${p.k}P${i}`,
      event,
      title: `Will ${p.ind.name} in ${MONTH_NAMES[p.month]} ${BASE_YEAR} be above ${threshold}?`,
      yesSub: `Above ${threshold}`,
      noSub: `${threshold} or below`,
      rulesPrimary: indicatorTerms(p.ind, threshold, MONTH_NAMES[p.month]!, close),
      rulesSecondary: `Source: ${p.ind.source}.`,
      close,
      open,
      floor: p.ind.base + p.ind.step * p.k,
      strike: "greater",
      scalar: false,
    };
  }
  const e = Math.floor((i - PLANTED) / MARKETS_PER_EVENT);
  const event = genericEvent(seed, mode, e);
  const k = (i - PLANTED) % MARKETS_PER_EVENT;
  if (event.mve) {
    return {
      i,
      ticker: `${event.ticker}-M${k}N${i}`,
      event,
      title: k === 2 ? null : `Combination ${i}: ${k + 2} legs`,
      yesSub: `yes ${k + 2} legs`,
      noSub: `no ${k + 2} legs`,
      rulesPrimary: `If every selected leg of combination ${i} resolves as selected, the market resolves to Yes.`,
      rulesSecondary: "",
      close: event.close,
      open,
      floor: null,
      strike: "custom",
      scalar: false,
    };
  }
  const city = CITIES[hash32(event.series.ticker) % CITIES.length]!;
  const temp = 40 + k * 10 + (e % 10);
  const when = `${MONTH_NAMES[event.close.getUTCMonth()]} ${event.close.getUTCDate()}, ${BASE_YEAR}`;
  return {
    i,
    ticker: `${event.ticker}-B${temp}N${i}`,
    event,
    // `title` is deprecated and optional: every tenth market has none.
    title: i % 10 === 5 ? null : `Highest temperature in ${city} on ${when} (#${i}) above ${temp}°F?`,
    yesSub: `${temp}°F or above`,
    noSub: `Below ${temp}°F`,
    rulesPrimary: `If the highest temperature recorded in ${city} on ${when} per the National Weather Service Daily Climate Report is at least ${temp}°F, the market resolves to Yes.`,
    rulesSecondary: "Source: National Weather Service.",
    close: event.close,
    open,
    floor: temp,
    strike: "greater_or_equal",
    scalar: i === KALSHI_SCALAR_INDEX,
  };
}

/** The ticker of market `i` (the planted pairs are the same in every mode). */
export function kalshiTickerAt(seed: number, i: number, mode: UniverseMode = "small"): string {
  return marketSeed(seed, mode, i).ticker;
}

/** The index of the market with this ticker, or null. */
export function kalshiMarketIndex(seed: number, mode: UniverseMode, ticker: string): number | null {
  const m = /[NP](\d{1,7})$/.exec(ticker);
  const i = m ? Number(m[1]) : -1;
  if (i < 0 || i >= UNIVERSE_SIZES[mode].kalshiMarkets) return null;
  return marketSeed(seed, mode, i).ticker === ticker ? i : null;
}

/** Market `i`'s status at `now`: its event's (an open event that closes over time is `closed` from then on). */
export function kalshiMarketStatus(
  seed: number,
  mode: UniverseMode,
  i: number,
  now = Date.now(),
): MarketStatus {
  if (i < PLANTED) return "active";
  const ev = genericEvent(seed, mode, Math.floor((i - PLANTED) / MARKETS_PER_EVENT));
  return eventStatusAt(mode, ev, now).status;
}

/** An event's status at `now`, and when it last changed (its closing instant, once closed over time). */
export function eventStatusAt(
  mode: UniverseMode,
  ev: EventSeed,
  now: number,
): { status: MarketStatus; since: number | null } {
  if (ev.status !== "active" || ev.mve) return { status: ev.status, since: null };
  const at = closesAt(mode, ev.ticker);
  return at !== null && now >= at ? { status: "closed", since: at } : { status: ev.status, since: null };
}

/** Whether market `i` is a multivariate combination. */
export function kalshiMarketIsMve(seed: number, mode: UniverseMode, i: number): boolean {
  return i >= PLANTED && genericEvent(seed, mode, Math.floor((i - PLANTED) / MARKETS_PER_EVENT)).mve;
}

/** The series ticker market `i` belongs to (through its event). */
export function kalshiMarketSeriesTicker(seed: number, mode: UniverseMode, i: number): string {
  return marketSeed(seed, mode, i).event.series.ticker;
}

/** Market `i` in the official shape (models/market.ts), with quotes at `now`. */
export function kalshiMarketWire(seed: number, mode: UniverseMode, i: number, now: number): K.Market {
  const m = marketSeed(seed, mode, i);
  const at = i < PLANTED ? { status: m.event.status, since: null } : eventStatusAt(mode, m.event, now);
  const status = at.status;
  const live = status === "active";
  const fair = roundToCent(
    fairNow(seed, m.ticker, kalshiFairBp(seed, i), now, UNIVERSE_SIZES[mode].priceBucketMs),
  );
  const bid = live ? fair - 100 : 0;
  const ask = live ? fair + 100 : 0;
  const settled = status === "finalized";
  const yesWon = settled && fair >= 5_000;
  const h = hash32(m.ticker);
  const close = i === KALSHI_UNREPRESENTABLE_INDEX ? "" : m.close.toISOString();
  const legs = m.event.mve
    ? [0, 1].map((leg) => ({
        event_ticker: genericEvent(seed, mode, leg).ticker,
        market_ticker: kalshiTickerAt(seed, PLANTED + leg * MARKETS_PER_EVENT, mode),
        side: leg === 0 ? "yes" : "no",
      }))
    : null;
  return {
    ticker: m.ticker,
    event_ticker: m.event.ticker,
    market_type: m.scalar ? "scalar" : "binary",
    ...(m.title === null ? {} : { title: m.title }),
    yes_sub_title: m.yesSub,
    no_sub_title: m.noSub,
    created_time: m.open.toISOString(),
    updated_time: at.since !== null ? new Date(at.since).toISOString() : m.open.toISOString(),
    open_time: status === "initialized" ? m.close.toISOString() : m.open.toISOString(),
    close_time: close,
    expected_expiration_time: i % 7 === 0 ? null : m.close.toISOString(),
    latest_expiration_time: new Date(m.close.getTime() + 7 * 86_400_000).toISOString(),
    settlement_timer_seconds: 300,
    status,
    yes_bid_dollars: bpToDollars(bid),
    yes_bid_size_fp: live ? `${10 + (h % 490)}.00` : "0.00",
    yes_ask_dollars: bpToDollars(ask),
    yes_ask_size_fp: live ? `${10 + ((h >>> 9) % 490)}.00` : "0.00",
    no_bid_dollars: bpToDollars(live ? 10_000 - ask : 0),
    no_ask_dollars: bpToDollars(live ? 10_000 - bid : 0),
    last_price_dollars: bpToDollars(fair),
    volume_fp: `${1000 + (h % 90_000)}.00`,
    volume_24h_fp: `${h % 5_000}.00`,
    result: settled ? (yesWon ? "yes" : "no") : "",
    can_close_early: h % 2 === 0,
    open_interest_fp: `${100 + (hash32(m.event.ticker + m.ticker) % 9_000)}.00`,
    notional_value_dollars: "1.0000",
    previous_yes_bid_dollars: bpToDollars(bid),
    previous_yes_ask_dollars: bpToDollars(ask),
    previous_price_dollars: bpToDollars(fair),
    ...(settled ? { settlement_value_dollars: yesWon ? "1.0000" : "0.0000" } : {}),
    settlement_ts: settled ? m.close.toISOString() : null,
    expiration_value: settled ? String(m.floor ?? "") : "",
    ...(h % 3 === 0 ? { early_close_condition: null } : {}),
    strike_type: m.strike,
    floor_strike: m.floor,
    cap_strike: null,
    rules_primary: m.rulesPrimary,
    rules_secondary: m.rulesSecondary,
    ...(legs
      ? { mve_collection_ticker: `${m.event.series.ticker}-COLLECTION`, mve_selected_legs: legs }
      : {}),
    price_level_structure: "linear_cent",
    price_ranges: [{ start: "0.0100", end: "0.9900", step: "0.0100" }],
  } satisfies K.Market;
}

/** Kalshi's book for a ticker: YES bids below the mid, NO bids below 1 − mid; empty unless open. Null if unknown. */
export function kalshiBook(
  seed: number,
  mode: UniverseMode,
  ticker: string,
  now = Date.now(),
): KalshiBook | null {
  const i = kalshiMarketIndex(seed, mode, ticker);
  if (i === null) return null;
  if (kalshiMarketStatus(seed, mode, i, now) !== "active") return { yes_dollars: [], no_dollars: [] };
  const bucket = UNIVERSE_SIZES[mode].priceBucketMs;
  const fair = roundToCent(fairNow(seed, ticker, kalshiFairBp(seed, i), now, bucket));
  const r = rng(hash32(`book:${seed}:${ticker}:${Math.floor(now / bucket)}`));
  const fmt = (l: { bp: number; size: number }): [string, string] => [bpToDollars(l.bp), `${l.size}.00`];
  return {
    yes_dollars: levels(r, fair - 100, 5).map(fmt),
    no_dollars: levels(r, 10_000 - fair - 100, 5).map(fmt),
  };
}
