/**
 * The simulator's seeded market universe: pure functions of (seed, index) so every worker and test sees the
 * same markets. A few dozen Kalshi/Polymarket pairs share one underlying contract (same resolution source,
 * rules and close time); a dozen more only look alike (different close date, threshold, or inverted YES).
 */
import type { ClobBookWire, GammaMarketWire } from "@paulp/venue-models";

/** How many markets each venue lists. */
export const KALSHI_MARKET_COUNT = 10_000;
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

/** The small universe (tests) and the realistic one (`pnpm dev`, soak): 5,000 markets, a fifth closed, prices every 5 s. */
export const POLYMARKET_SHAPES = {
  small: { markets: POLYMARKET_MARKET_COUNT, closedEvery: 101, priceStepMs: 60_000 },
  realistic: { markets: 5_000, closedEvery: 5, priceStepMs: 5_000 },
} as const satisfies Record<string, PolymarketShape>;
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
const KALSHI_CATEGORIES = [
  "Climate and Weather",
  "Politics",
  "Entertainment",
  "Science and Technology",
] as const;

/** A simulated Kalshi market in the venue's wire shape (prices filled in per read). */
export interface KalshiMarketSeed {
  ticker: string;
  event_ticker: string;
  series_ticker: string;
  market_type: "binary";
  title: string;
  yes_sub_title: string;
  no_sub_title: string;
  category: string;
  open_time: string;
  close_time: string;
  expiration_time: string;
  rules_primary: string;
  rules_secondary: string;
  status: "active" | "closed" | "settled";
  /** Fair YES probability in basis points around which quotes move. */
  fairBp: number;
}

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

function kalshiSeedAt(seed: number, i: number): KalshiMarketSeed {
  const r = rng(hash32(`kalshi:${seed}:${i}`));
  const fairBp = 300 + Math.floor(r() * 9400);
  const open = new Date(Date.UTC(2026, 0, 1 + (i % 300))).toISOString();
  if (i < TRUE_PAIRS + LOOKALIKE_PAIRS) {
    const p = pairSpec(seed, i);
    const close = closeDate(p.month, 15);
    const threshold = fmtThreshold(p.ind, p.k);
    const mon = MONTHS[p.month]!;
    const event = `${p.ind.series}-${String(BASE_YEAR).slice(2)}${mon}`;
    return {
      ticker: `${event}-T${p.k}P${i}`,
      event_ticker: event,
      series_ticker: p.ind.series,
      market_type: "binary",
      title: `Will ${p.ind.name} in ${MONTH_NAMES[p.month]} ${BASE_YEAR} be above ${threshold}?`,
      yes_sub_title: `Above ${threshold}`,
      no_sub_title: `${threshold} or below`,
      category: p.ind.category,
      open_time: open,
      close_time: close.toISOString(),
      expiration_time: close.toISOString(),
      rules_primary: indicatorTerms(p.ind, threshold, MONTH_NAMES[p.month]!, close),
      rules_secondary: `Source: ${p.ind.source}.`,
      status: "active",
      fairBp,
    };
  }
  const city = pick(r, CITIES);
  const month = Math.floor(r() * 12);
  const day = 1 + Math.floor(r() * 28);
  const temp = 40 + Math.floor(r() * 60);
  const close = closeDate(month, day);
  const series = `KXHIGH${city.replace(/\s/g, "").slice(0, 3).toUpperCase()}`;
  const event = `${series}-${String(BASE_YEAR).slice(2)}${MONTHS[month]}${String(day).padStart(2, "0")}`;
  const category = i % 10 === 9 ? pick(r, KALSHI_CATEGORIES) : "Climate and Weather";
  const status = i % 97 === 50 ? "closed" : "active";
  return {
    ticker: `${event}-B${temp}N${i}`,
    event_ticker: event,
    series_ticker: series,
    market_type: "binary",
    title: `Highest temperature in ${city} on ${MONTH_NAMES[month]} ${day} (#${i}) above ${temp}°F?`,
    yes_sub_title: `${temp}°F or above`,
    no_sub_title: `Below ${temp}°F`,
    category,
    open_time: open,
    close_time: close.toISOString(),
    expiration_time: close.toISOString(),
    rules_primary: `If the highest temperature recorded in ${city} on ${MONTH_NAMES[month]} ${day}, ${BASE_YEAR} per the National Weather Service Daily Climate Report is at least ${temp}°F, the market resolves to Yes.`,
    rules_secondary: "Source: National Weather Service.",
    status,
    fairBp,
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
    const k = kalshiSeedAt(seed, j);
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

interface Universe extends PolymarketUniverse {
  kalshi: KalshiMarketSeed[];
  kalshiByTicker: Map<string, number>;
}

const universes = new Map<number, Universe>();
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

/** The whole seeded universe (the small Polymarket shape), generated once per seed and isolate. */
export function universe(seed: number): Universe {
  const cached = universes.get(seed);
  if (cached) return cached;
  const kalshi = Array.from({ length: KALSHI_MARKET_COUNT }, (_, i) => kalshiSeedAt(seed, i));
  const u: Universe = {
    kalshi,
    kalshiByTicker: new Map(kalshi.map((m, i) => [m.ticker, i])),
    ...polymarketUniverse(seed),
  };
  universes.set(seed, u);
  return u;
}

/** The planted pairs: the first TRUE_PAIRS are the same contract, the rest only look alike. */
export function plantedPairs(seed: number): PlantedPair[] {
  const u = universe(seed);
  return Array.from({ length: TRUE_PAIRS + LOOKALIKE_PAIRS }, (_, i) => ({
    kalshiTicker: u.kalshi[i]!.ticker,
    polymarketConditionId: u.poly[i]!.conditionId,
    kind: pairSpec(seed, i).kind,
  }));
}

/** Pairs that really are the same contract. */
export function truePairs(seed: number): PlantedPair[] {
  return plantedPairs(seed).filter((p) => p.kind === "identical");
}

// ---------- prices and books ----------

/** Prices move once a minute, deterministically. */
const PRICE_BUCKET_MS = 60_000;

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

/** The Kalshi market in wire shape with current quotes, or null for an unknown ticker. */
export function kalshiMarketByTicker(
  seed: number,
  ticker: string,
  now = Date.now(),
): Record<string, unknown> | null {
  const u = universe(seed);
  const i = u.kalshiByTicker.get(ticker);
  return i === undefined ? null : kalshiMarketWire(seed, u.kalshi[i]!, now);
}

/** A Kalshi market in wire shape (fixed-point dollar strings). */
export function kalshiMarketWire(seed: number, m: KalshiMarketSeed, now: number): Record<string, unknown> {
  const fair = roundToCent(fairNow(seed, m.ticker, m.fairBp, now));
  const yesBid = fair - 100;
  const yesAsk = fair + 100;
  const { fairBp: _fair, ...wire } = m;
  return {
    ...wire,
    yes_bid_dollars: bpToDollars(yesBid),
    yes_ask_dollars: bpToDollars(yesAsk),
    no_bid_dollars: bpToDollars(10_000 - yesAsk),
    no_ask_dollars: bpToDollars(10_000 - yesBid),
    last_price_dollars: bpToDollars(fair),
    volume_fp: `${1000 + (hash32(m.ticker) % 90_000)}.00`,
    open_interest_fp: `${100 + (hash32(m.event_ticker + m.ticker) % 9_000)}.00`,
    result: "",
    settlement_value_dollars: null,
  };
}

function roundToCent(bp: number): number {
  return Math.round(bp / 100) * 100;
}

/** Kalshi's book for a ticker: YES bids below the mid, NO bids below 1 − mid. Null for an unknown ticker. */
export function kalshiBook(seed: number, ticker: string, now = Date.now()): KalshiBook | null {
  const u = universe(seed);
  const i = u.kalshiByTicker.get(ticker);
  if (i === undefined) return null;
  const m = u.kalshi[i]!;
  const fair = roundToCent(fairNow(seed, m.ticker, m.fairBp, now));
  const r = rng(hash32(`book:${seed}:${ticker}:${Math.floor(now / PRICE_BUCKET_MS)}`));
  const fmt = (l: { bp: number; size: number }): [string, string] => [bpToDollars(l.bp), `${l.size}.00`];
  return {
    yes_dollars: levels(r, fair - 100, 5).map(fmt),
    no_dollars: levels(r, 10_000 - fair - 100, 5).map(fmt),
  };
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
    closed: m.closed,
    outcomes: q.outcomes === "null" ? null : q.outcomes === "empty" ? "[]" : JSON.stringify(outcomes),
    outcomePrices: listed
      ? JSON.stringify([
          bpToDollars(fair, 2).replace(/0$/, ""),
          bpToDollars(10_000 - fair, 2).replace(/0$/, ""),
        ])
      : null,
    clobTokenIds: listed ? JSON.stringify(m.clobTokenIds) : null,
    acceptingOrders: !m.closed,
    enableOrderBook: listed,
    orderPriceMinTickSize: 0.01,
    orderMinSize: 5,
    ...prices,
    volumeNum: 1000 + (hash32(m.conditionId) % 500_000),
    liquidityNum: 500 + (hash32(m.slug) % 50_000),
    events: [{ id: String(90_000 + (Number(m.id) % 1000)), title: m.question }],
  } satisfies GammaMarketWire;
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
