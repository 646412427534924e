/**
 * The simulator's seeded market universe: pure functions of (seed, mode, index) so every worker and test sees
 * the same markets. A few dozen Kalshi/Polymarket pairs share one underlying contract (same resolution source,
 * rules and close time); a dozen more only look alike (different close date, threshold, or inverted YES).
 *
 * THE MODE SWITCH (one var, `SIM_UNIVERSE` in venue-sim's config; read by `universeMode`):
 *   - `small` (the default; unit and integration tests): UNIVERSE_SIZES.small Kalshi markets and
 *     POLYMARKET_SHAPES.small (4,000 gamma markets), prices move every 60 s;
 *   - `realistic` (`pnpm dev`, the soak): 50,000 Kalshi markets (open, unopened, closed and settled ones, and
 *     multivariate combinations) in their events and ~1,500 series, and POLYMARKET_SHAPES.realistic (5,000 gamma
 *     markets, a fifth closed); prices move every 5 s on both venues.
 * The planted pairs are the same in both modes (the first Kalshi and Polymarket indexes), so `pnpm dev`'s
 * seed finds them and the loop trades them. Kalshi markets are generated on demand from their index (never
 * held as one array), so the realistic universe costs no memory until it is read.
 */
import type { ClobBookWire, GammaMarketWire } from "@paulp/venue-models";
import type * as K from "kalshi-typescript";

/** The universe sizes; `small` is the default. */
export type UniverseMode = "small" | "realistic";

/** The Kalshi half of each mode: how many markets and generic series it lists, and how often its prices move. */
export const UNIVERSE_SIZES: Record<
  UniverseMode,
  { kalshiMarkets: number; kalshiSeries: number; priceBucketMs: number }
> = {
  small: { kalshiMarkets: 2_000, kalshiSeries: 40, priceBucketMs: 60_000 },
  realistic: { kalshiMarkets: 50_000, kalshiSeries: 1_500, priceBucketMs: 5_000 },
};

/** The mode a `SIM_UNIVERSE` value names; anything else is `small`. */
export function universeMode(raw: string | undefined): UniverseMode {
  return raw === "realistic" ? "realistic" : "small";
}

/** How many markets Polymarket's gamma lists in the small universe. */
export const POLYMARKET_MARKET_COUNT = 4_000;

/** The Polymarket half of a universe: how many markets gamma lists, how many are closed, how often prices move. */
export interface PolymarketShape {
  markets: number;
  /** Every `closedEvery`-th market (outside the planted pairs) is closed. */
  closedEvery: number;
  /** Prices step this often (ms). */
  priceStepMs: number;
}

/**
 * The Polymarket half of each mode: small (tests) and realistic (`pnpm dev`, soak): 5,000 markets, a fifth closed,
 * prices every 5 s.
 */
export const POLYMARKET_SHAPES = {
  small: { markets: POLYMARKET_MARKET_COUNT, closedEvery: 101, priceStepMs: 60_000 },
  realistic: { markets: 5_000, closedEvery: 5, priceStepMs: 5_000 },
} as const satisfies Record<UniverseMode, PolymarketShape>;
/**
 * Markets that close while the simulator runs (realistic mode only, so `pnpm dev` and the soak exercise the closed-
 * market paths): 1 in CLOSING.every open generic Kalshi events (all their markets) and open Polymarket markets close
 * at `epoch + firstMs + (hash mod spanMs)`, where `epoch` is when this simulator's state first answered
 * (`setClosingEpoch`; kept in its Durable Object). From then on Kalshi lists them `closed` (a status
 * `MarketStatusEnum` lists) with `updated_time` = the closing instant, so `min_updated_ts` finds them, and gamma
 * `closed: true`. Never a planted pair. With ~25,000 open Kalshi markets, ~3 close a minute over the first 4 hours.
 */
export const CLOSING = { every: 40, firstMs: 2 * 60_000, spanMs: 4 * 3_600_000 } as const;
let closingEpoch: number | null = null;
/** When the simulator's session began (null: no market closes over time). */
export function setClosingEpoch(epoch: number | null): void {
  closingEpoch = epoch;
}
/** When the closing market keyed `key` closes, or null when it does not close in this mode or session. */
export function closesAt(mode: UniverseMode, key: string): number | null {
  if (mode !== "realistic" || closingEpoch === null) return null;
  const h = hash32(`closes:${key}`);
  if (h % CLOSING.every !== 0) return null;
  return closingEpoch + CLOSING.firstMs + (Math.floor(h / CLOSING.every) % CLOSING.spanMs);
}

/** Pairs at indexes [0, TRUE_PAIRS) are the same contract on both venues. */
export const TRUE_PAIRS = 24;
/** Pairs at indexes [TRUE_PAIRS, TRUE_PAIRS + LOOKALIKE_PAIRS) only look alike. */
export const LOOKALIKE_PAIRS = 12;

/** A deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string, to derive sub-seeds. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function hex(r: () => number, chars: number): string {
  let s = "";
  for (let i = 0; i < chars; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function digits(r: () => number, n: number): string {
  let s = String(1 + Math.floor(r() * 9));
  for (let i = 1; i < n; i++) s += String(Math.floor(r() * 10));
  return s;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] as const;
const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
] as const;

/** The economic indicators the paired contracts settle on. */
const INDICATORS = [
  {
    series: "KXCPIYOY",
    name: "CPI year-over-year inflation",
    unit: "%",
    base: 2.4,
    step: 0.1,
    source: "Bureau of Labor Statistics",
    category: "Economics",
  },
  {
    series: "KXU3",
    name: "the U-3 unemployment rate",
    unit: "%",
    base: 4.0,
    step: 0.1,
    source: "Bureau of Labor Statistics",
    category: "Economics",
  },
  {
    series: "KXGDP",
    name: "real GDP growth (annualized)",
    unit: "%",
    base: 1.5,
    step: 0.5,
    source: "Bureau of Economic Analysis",
    category: "Economics",
  },
  {
    series: "KXFEDRATE",
    name: "the upper bound of the federal funds target rate",
    unit: "%",
    base: 3.5,
    step: 0.25,
    source: "Federal Reserve",
    category: "Financials",
  },
  {
    series: "KXBTCMAX",
    name: "the Bitcoin reference price",
    unit: "$",
    base: 90000,
    step: 5000,
    source: "CF Benchmarks BRTI",
    category: "Crypto",
  },
  {
    series: "KXPAYROLLS",
    name: "nonfarm payrolls growth (thousands)",
    unit: "k",
    base: 100,
    step: 25,
    source: "Bureau of Labor Statistics",
    category: "Economics",
  },
] as const;

const CITIES = [
  "Austin",
  "Chicago",
  "Denver",
  "Miami",
  "New York",
  "Seattle",
  "Phoenix",
  "Boston",
  "Atlanta",
  "Houston",
];
const TEAMS = [
  "Hawks",
  "Comets",
  "Rangers",
  "Pilots",
  "Falcons",
  "Tigers",
  "Wolves",
  "Sharks",
  "Bears",
  "Owls",
];
/**
 * How one gamma market departs from the tidy form, as Polymarket's bindings allow: `question` and `conditionId`
 * null, empty or absent; `outcomes` null, empty or not YES/NO; prices as strings, numbers, null or absent.
 */
export interface PolymarketWireQuirks {
  question?: "null" | "empty" | "absent";
  conditionId?: "null" | "empty";
  outcomes?: "null" | "empty" | "up_down";
  prices: "number" | "string" | "mixed" | "null" | "absent";
}

/** A simulated Polymarket gamma market (prices filled in per read). */
export interface PolymarketMarketSeed {
  id: string;
  question: string;
  conditionId: string;
  slug: string;
  description: string;
  resolutionSource: string;
  startDate: string;
  endDate: string;
  category: string;
  active: boolean;
  closed: boolean;
  outcomes: ["Yes", "No"];
  clobTokenIds: [string, string];
  fairBp: number;
  quirks: PolymarketWireQuirks;
}

/** How a pair relates: the same contract, or one of the ways a look-alike differs. */
export type PairKind = "identical" | "different_close" | "different_threshold" | "inverted";

/** One Kalshi/Polymarket pair the simulator planted. */
export interface PlantedPair {
  kalshiTicker: string;
  polymarketConditionId: string;
  kind: PairKind;
}

const BASE_YEAR = 2027;

function closeDate(month: number, day: number): Date {
  return new Date(Date.UTC(BASE_YEAR, month, day, 14, 0, 0));
}

function fmtThreshold(ind: (typeof INDICATORS)[number], k: number): string {
  const value = ind.base + ind.step * k;
  if (ind.unit === "$") return `$${value.toLocaleString("en-US")}`;
  if (ind.unit === "k") return `${value}k`;
  return `${value.toFixed(ind.step < 0.25 ? 1 : 2)}%`;
}

interface PairSpec {
  ind: (typeof INDICATORS)[number];
  month: number;
  k: number;
  kind: PairKind;
}

function pairSpec(seed: number, i: number): PairSpec {
  const r = rng(hash32(`pair:${seed}:${i}`));
  const ind = INDICATORS[i % INDICATORS.length]!;
  const month = (Math.floor(i / INDICATORS.length) * 3 + Math.floor(r() * 2)) % 12;
  const k = 1 + Math.floor(r() * 6);
  const kinds: PairKind[] = ["different_close", "different_threshold", "inverted"];
  const kind = i < TRUE_PAIRS ? "identical" : kinds[(i - TRUE_PAIRS) % kinds.length]!;
  return { ind, month, k, kind };
}

function indicatorTerms(
  ind: (typeof INDICATORS)[number],
  threshold: string,
  monthName: string,
  close: Date,
): string {
  return (
    `If ${ind.name} for ${monthName} ${BASE_YEAR}, as first published by the ${ind.source}, is above ${threshold}, ` +
    `the market resolves to Yes. Otherwise it resolves to No. Close: ${close.toISOString()}.`
  );
}

// ---------- Kalshi: series, events and markets, each generated from its index ----------

const PLANTED = TRUE_PAIRS + LOOKALIKE_PAIRS;
/** Generic markets come in events of this many (a strike ladder). */
const MARKETS_PER_EVENT = 5;
const SERIES_CATEGORIES = [
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
const MVE_SERIES = [
  { ticker: "KXMVESPORTSMULTIGAME", title: "Multi-game sports combinations", category: "Sports" },
  { ticker: "KXMVECROSSCATEGORY", title: "Cross-category combinations", category: "Sports" },
] as const;
/** The generic series at this index has an empty category (a series we cannot categorise). */
export const KALSHI_UNCATEGORISED_SERIES_INDEX = 5;
/** The market at this index has an empty `close_time`: one market ingestion cannot represent. */
export const KALSHI_UNREPRESENTABLE_INDEX = PLANTED + 3;
/** The market at this index is a scalar market (not ingested: Paul P trades binary contracts). */
export const KALSHI_SCALAR_INDEX = PLANTED + 8;

type MarketStatus = K.Market["status"];

/** How many Kalshi markets, series and events a mode lists. */
export function kalshiCounts(mode: UniverseMode): { markets: number; series: number; events: number } {
  const sz = UNIVERSE_SIZES[mode];
  return {
    markets: sz.kalshiMarkets,
    series: INDICATORS.length + MVE_SERIES.length + sz.kalshiSeries,
    events: Math.ceil((sz.kalshiMarkets - PLANTED) / MARKETS_PER_EVENT),
  };
}

interface SeriesSeed {
  ticker: string;
  title: string;
  category: string;
  frequency: string;
  source: string;
  /** Position in the series list. */
  index: number;
}

function genericSeries(s: number): SeriesSeed {
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
function seriesAt(index: number): SeriesSeed {
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
function seriesByTicker(mode: UniverseMode, ticker: string): SeriesSeed | null {
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
function seriesUpdatedMs(s: SeriesSeed): number {
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

interface EventSeed {
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
function genericEvent(seed: number, mode: UniverseMode, e: number): EventSeed {
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

function plantedEventTicker(seed: number, i: number): string {
  const p = pairSpec(seed, i);
  return `${p.ind.series}-${String(BASE_YEAR).slice(2)}${MONTHS[p.month]}`;
}

function plantedEvent(seed: number, ticker: string): EventSeed | null {
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
function eventByTicker(seed: number, mode: UniverseMode, ticker: string): EventSeed | null {
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

function eventMarkets(seed: number, mode: UniverseMode, ev: EventSeed, now: number): K.Market[] {
  const out: K.Market[] = [];
  if (ev.firstMarket < PLANTED) {
    for (let i = 0; i < PLANTED; i++)
      if (plantedEventTicker(seed, i) === ev.ticker) out.push(kalshiMarketWire(seed, mode, i, now));
  } else
    for (let k = 0; k < ev.marketCount; k++) out.push(kalshiMarketWire(seed, mode, ev.firstMarket + k, now));
  return out;
}

/** An event in the official shape (models/event-data.ts). */
function eventWire(
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

interface MarketSeed {
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

function marketSeed(seed: number, mode: UniverseMode, i: number): MarketSeed {
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
function eventStatusAt(
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

/** Deterministic quirks by index, never on a planted pair. */
function polyQuirks(j: number): PolymarketWireQuirks {
  const prices =
    j % 71 === 9 ? "null" : j % 73 === 4 ? "absent" : (["number", "string", "mixed"] as const)[j % 3]!;
  if (j < TRUE_PAIRS + LOOKALIKE_PAIRS) return { prices: "number" };
  const question = j % 97 === 11 ? "null" : j % 97 === 23 ? "empty" : j % 97 === 37 ? "absent" : undefined;
  const conditionId = j % 89 === 5 ? "empty" : j % 89 === 17 ? "null" : undefined;
  const outcomes = j % 83 === 7 ? "null" : j % 83 === 19 ? "empty" : j % 79 === 3 ? "up_down" : undefined;
  return {
    prices,
    ...(question ? { question } : {}),
    ...(conditionId ? { conditionId } : {}),
    ...(outcomes ? { outcomes } : {}),
  };
}

function polySeedAt(seed: number, j: number, shape: PolymarketShape): PolymarketMarketSeed {
  const r = rng(hash32(`poly:${seed}:${j}`));
  const conditionId = `0x${hex(r, 64)}`;
  const tokens: [string, string] = [digits(r, 77), digits(r, 77)];
  const fairBpRandom = 300 + Math.floor(r() * 9400);
  const start = new Date(Date.UTC(2026, 0, 1 + (j % 300))).toISOString();
  if (j < TRUE_PAIRS + LOOKALIKE_PAIRS) {
    const p = pairSpec(seed, j);
    const k = { fairBp: kalshiFairBp(seed, j) };
    let close = closeDate(p.month, 15);
    let threshold = fmtThreshold(p.ind, p.k);
    let question = `${p.ind.name[0]!.toUpperCase()}${p.ind.name.slice(1)} above ${threshold} in ${MONTH_NAMES[p.month]} ${BASE_YEAR}?`;
    let fairBp = k.fairBp + Math.floor(r() * 200) - 100;
    if (p.kind === "different_close") close = closeDate((p.month + 1) % 12, 28);
    if (p.kind === "different_threshold") {
      threshold = fmtThreshold(p.ind, p.k + 1);
      question = `${p.ind.name[0]!.toUpperCase()}${p.ind.name.slice(1)} above ${threshold} in ${MONTH_NAMES[p.month]} ${BASE_YEAR}?`;
    }
    let description = indicatorTerms(p.ind, threshold, MONTH_NAMES[p.month]!, close);
    if (p.kind === "inverted") {
      question = `${p.ind.name[0]!.toUpperCase()}${p.ind.name.slice(1)} at or below ${threshold} in ${MONTH_NAMES[p.month]} ${BASE_YEAR}?`;
      description = `If ${p.ind.name} for ${MONTH_NAMES[p.month]} ${BASE_YEAR}, as first published by the ${p.ind.source}, is at or below ${threshold}, the market resolves to Yes. Otherwise it resolves to No. Close: ${close.toISOString()}.`;
      fairBp = 10_000 - k.fairBp;
    }
    return {
      id: String(500_000 + j),
      question,
      conditionId,
      slug: question
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, ""),
      description,
      resolutionSource: `https://www.${p.ind.source.toLowerCase().replace(/[^a-z]+/g, "")}.gov`,
      startDate: start,
      endDate: close.toISOString(),
      category: p.ind.category,
      active: true,
      closed: false,
      outcomes: ["Yes", "No"],
      clobTokenIds: tokens,
      fairBp: Math.min(9_700, Math.max(300, fairBp)),
      quirks: polyQuirks(j),
    };
  }
  const a = pick(r, TEAMS);
  let b = pick(r, TEAMS);
  if (b === a) b = TEAMS[(TEAMS.indexOf(a) + 1) % TEAMS.length]!;
  const month = Math.floor(r() * 12);
  const close = closeDate(month, 1 + Math.floor(r() * 28));
  const question = `${a} vs. ${b}: will the ${a} win match ${j}?`;
  return {
    id: String(500_000 + j),
    question,
    conditionId,
    slug: `${a}-${b}-match-${j}`.toLowerCase(),
    description: `This market resolves to Yes if the ${a} win match ${j} against the ${b}, per the league's official result.`,
    resolutionSource: "https://league.example/results",
    startDate: start,
    endDate: close.toISOString(),
    category: j % 10 === 7 ? "Politics" : "Sports",
    active: true,
    closed: j % shape.closedEvery === shape.closedEvery - 1,
    outcomes: ["Yes", "No"],
    clobTokenIds: tokens,
    fairBp: fairBpRandom,
    quirks: polyQuirks(j),
  };
}

/** Gamma's markets of one shape, with the lookups the CLOB and the trading simulators need. */
export interface PolymarketUniverse {
  shape: PolymarketShape;
  poly: PolymarketMarketSeed[];
  /** Tokens of the markets that list them (not those whose outcomes are null or empty). */
  polyByToken: Map<string, { index: number; outcome: 0 | 1 }>;
  /** Condition ids of the markets that show one. */
  polyByCondition: Map<string, number>;
}

const polymarketUniverses = new Map<string, PolymarketUniverse>();

/** The Polymarket half for a seed and shape, generated once per isolate. */
export function polymarketUniverse(
  seed: number,
  shape: PolymarketShape = POLYMARKET_SHAPES.small,
): PolymarketUniverse {
  const key = `${seed}:${shape.markets}:${shape.closedEvery}:${shape.priceStepMs}`;
  const cached = polymarketUniverses.get(key);
  if (cached) return cached;
  const poly = Array.from({ length: shape.markets }, (_, j) => polySeedAt(seed, j, shape));
  const listsTokens = (m: PolymarketMarketSeed) =>
    m.quirks.outcomes !== "null" && m.quirks.outcomes !== "empty";
  const u: PolymarketUniverse = {
    shape,
    poly,
    polyByToken: new Map<string, { index: number; outcome: 0 | 1 }>(
      poly.flatMap((m, index): [string, { index: number; outcome: 0 | 1 }][] =>
        listsTokens(m)
          ? [
              [m.clobTokenIds[0], { index, outcome: 0 as const }],
              [m.clobTokenIds[1], { index, outcome: 1 as const }],
            ]
          : [],
      ),
    ),
    polyByCondition: new Map(
      poly.flatMap((m, j): [string, number][] => (m.quirks.conditionId ? [] : [[m.conditionId, j]])),
    ),
  };
  polymarketUniverses.set(key, u);
  return u;
}

/** The planted pairs: the first TRUE_PAIRS are the same contract, the rest only look alike. */
export function plantedPairs(seed: number): PlantedPair[] {
  const u = polymarketUniverse(seed);
  return Array.from({ length: TRUE_PAIRS + LOOKALIKE_PAIRS }, (_, i) => ({
    kalshiTicker: kalshiTickerAt(seed, i),
    polymarketConditionId: u.poly[i]!.conditionId,
    kind: pairSpec(seed, i).kind,
  }));
}

/** Pairs that really are the same contract. */
export function truePairs(seed: number): PlantedPair[] {
  return plantedPairs(seed).filter((p) => p.kind === "identical");
}

// ---------- prices and books ----------

/** Prices move once per bucket (a minute in small mode, UNIVERSE_SIZES.realistic.priceBucketMs otherwise). */
const PRICE_BUCKET_MS = UNIVERSE_SIZES.small.priceBucketMs;

function fairNow(seed: number, key: string, fairBp: number, now: number, stepMs = PRICE_BUCKET_MS): number {
  const r = rng(hash32(`${seed}:${key}:${Math.floor(now / stepMs)}`));
  return Math.min(9_800, Math.max(200, fairBp + Math.floor(r() * 300) - 150));
}

/** Basis points (0..10000) as a dollar decimal string with 4 decimals, e.g. 5600 → "0.5600". */
export function bpToDollars(bp: number, decimals = 4): string {
  const whole = Math.floor(bp / 10_000);
  const frac = String(bp % 10_000).padStart(4, "0");
  return decimals === 4 ? `${whole}.${frac}` : `${whole}.${frac.slice(0, decimals)}`;
}

/** Kalshi order book levels: `[price_dollars, count_fp]`, bids only on each side, best last (ascending). */
export interface KalshiBook {
  yes_dollars: [string, string][];
  no_dollars: [string, string][];
}

function levels(r: () => number, bestBidBp: number, depth: number): { bp: number; size: number }[] {
  const out: { bp: number; size: number }[] = [];
  for (let d = depth - 1; d >= 0; d--) {
    const bp = bestBidBp - d * 100;
    if (bp >= 100) out.push({ bp, size: 10 + Math.floor(r() * 490) });
  }
  return out;
}

function roundToCent(bp: number): number {
  return Math.round(bp / 100) * 100;
}

/**
 * A gamma market as gamma serves it (`GammaMarketWire`: the input of Polymarket's own `GammaMarketSchema`, so an
 * invented field fails to compile): `outcomes`, `outcomePrices` and `clobTokenIds` are JSON-encoded strings, and
 * the market's quirks (null or missing question/condition id/outcomes, prices as strings or numbers) applied.
 */
export function polymarketMarketWire(
  seed: number,
  m: PolymarketMarketSeed,
  now: number,
  shape: PolymarketShape = POLYMARKET_SHAPES.small,
): GammaMarketWire {
  const fair = roundToCent(fairNow(seed, m.conditionId, m.fairBp, now, shape.priceStepMs));
  const closed = polymarketClosed(m, now, shape);
  const q = m.quirks;
  const outcomes = q.outcomes === "up_down" ? ["Up", "Down"] : m.outcomes;
  const listed = q.outcomes !== "null" && q.outcomes !== "empty";
  const bid = (fair - 100) / 10_000;
  const ask = (fair + 100) / 10_000;
  const last = fair / 10_000;
  const asString = (n: number) => String(n);
  const prices =
    q.prices === "absent"
      ? {}
      : q.prices === "null"
        ? { bestBid: null, bestAsk: null, lastTradePrice: null }
        : q.prices === "string"
          ? { bestBid: asString(bid), bestAsk: asString(ask), lastTradePrice: asString(last) }
          : q.prices === "mixed"
            ? { bestBid: asString(bid), bestAsk: ask, lastTradePrice: asString(last) }
            : { bestBid: bid, bestAsk: ask, lastTradePrice: last };
  return {
    id: m.id,
    ...(q.question === "absent"
      ? {}
      : { question: q.question === "null" ? null : q.question === "empty" ? "" : m.question }),
    conditionId: q.conditionId === "null" ? null : q.conditionId === "empty" ? "" : m.conditionId,
    slug: m.slug,
    description: m.description,
    resolutionSource: m.resolutionSource,
    startDate: m.startDate,
    endDate: m.endDate,
    category: m.category,
    active: m.active,
    closed,
    ...(closed && !m.closed ? { closedTime: new Date(closesAt("realistic", m.id)!).toISOString() } : {}),
    outcomes: q.outcomes === "null" ? null : q.outcomes === "empty" ? "[]" : JSON.stringify(outcomes),
    outcomePrices: listed
      ? JSON.stringify([
          bpToDollars(fair, 2).replace(/0$/, ""),
          bpToDollars(10_000 - fair, 2).replace(/0$/, ""),
        ])
      : null,
    clobTokenIds: listed ? JSON.stringify(m.clobTokenIds) : null,
    acceptingOrders: !closed,
    enableOrderBook: listed,
    orderPriceMinTickSize: 0.01,
    orderMinSize: 5,
    ...prices,
    volumeNum: 1000 + (hash32(m.conditionId) % 500_000),
    liquidityNum: 500 + (hash32(m.slug) % 50_000),
    events: [{ id: String(90_000 + (Number(m.id) % 1000)), title: m.question }],
  } satisfies GammaMarketWire;
}

/** Whether a gamma market is closed at `now` (closed from the start, or closed over time in the realistic shape). */
export function polymarketClosed(m: PolymarketMarketSeed, now: number, shape: PolymarketShape): boolean {
  if (m.closed) return true;
  if (shape !== POLYMARKET_SHAPES.realistic || Number(m.id) - 500_000 < TRUE_PAIRS + LOOKALIKE_PAIRS)
    return false;
  const at = closesAt("realistic", m.id);
  return at !== null && now >= at;
}

/** The gamma market with this condition id (wire shape), or null. */
export function polymarketMarketByCondition(
  seed: number,
  conditionId: string,
  now = Date.now(),
  shape: PolymarketShape = POLYMARKET_SHAPES.small,
): GammaMarketWire | null {
  const u = polymarketUniverse(seed, shape);
  const j = u.polyByCondition.get(conditionId);
  return j === undefined ? null : polymarketMarketWire(seed, u.poly[j]!, now, shape);
}

/**
 * A CLOB book for one outcome token, as clob-client's `OrderBookSummary` types it (numbers as strings, `hash`
 * a 40-hex SHA-1 as Polymarket's bindings check it), or null for an unknown token.
 */
export function polymarketBook(
  seed: number,
  tokenId: string,
  now = Date.now(),
  shape: PolymarketShape = POLYMARKET_SHAPES.small,
): ClobBookWire | null {
  const u = polymarketUniverse(seed, shape);
  const hit = u.polyByToken.get(tokenId);
  if (!hit) return null;
  const m = u.poly[hit.index]!;
  const yesFair = roundToCent(fairNow(seed, m.conditionId, m.fairBp, now, shape.priceStepMs));
  const fair = hit.outcome === 0 ? yesFair : 10_000 - yesFair;
  const r = rng(hash32(`pbook:${seed}:${tokenId}:${Math.floor(now / shape.priceStepMs)}`));
  const fmt = (l: { bp: number; size: number }) => ({ price: bpToDollars(l.bp, 2), size: String(l.size) });
  // CLOB lists bids ascending and asks descending: the best level is the last entry of each.
  const bids = levels(r, fair - 100, 5).map(fmt);
  const asks = levels(r, 10_000 - (fair + 100), 5)
    .map((l) => ({ bp: 10_000 - l.bp, size: l.size }))
    .map(fmt);
  return {
    market: m.conditionId,
    asset_id: tokenId,
    timestamp: String(now),
    hash: hex(r, 40),
    bids,
    asks,
    min_order_size: "5",
    tick_size: "0.01",
    neg_risk: false,
    last_trade_price: bpToDollars(fair, 2),
  } satisfies ClobBookWire;
}
