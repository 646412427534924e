// The seeded universe's shared ground: its modes and sizes, the PRNG and hashes, the word tables, the planted
// pairs' terms, closing over time, and the price walk and book levels both venues use (see index.ts).

import { formatFixed, PRICE_DECIMALS, seededRandom } from "@paulp/kit";

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

/** A deterministic PRNG (mulberry32, kit's `seededRandom`). */
export const rng = seededRandom;

/** FNV-1a of a string, to derive sub-seeds. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

export function hex(r: () => number, chars: number): string {
  let s = "";
  for (let i = 0; i < chars; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

export function digits(r: () => number, n: number): string {
  let s = String(1 + Math.floor(r() * 9));
  for (let i = 1; i < n; i++) s += String(Math.floor(r() * 10));
  return s;
}

export const MONTHS = [
  "JAN",
  "FEB",
  "MAR",
  "APR",
  "MAY",
  "JUN",
  "JUL",
  "AUG",
  "SEP",
  "OCT",
  "NOV",
  "DEC",
] as const;
export const MONTH_NAMES = [
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
export const INDICATORS = [
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

export const CITIES = [
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
export const TEAMS = [
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

export const BASE_YEAR = 2027;

export function closeDate(month: number, day: number): Date {
  return new Date(Date.UTC(BASE_YEAR, month, day, 14, 0, 0));
}

export function fmtThreshold(ind: (typeof INDICATORS)[number], k: number): string {
  const value = ind.base + ind.step * k;
  if (ind.unit === "$") return `$${value.toLocaleString("en-US")}`;
  if (ind.unit === "k") return `${value}k`;
  return `${value.toFixed(ind.step < 0.25 ? 1 : 2)}%`;
}

export interface PairSpec {
  ind: (typeof INDICATORS)[number];
  month: number;
  k: number;
  kind: PairKind;
}

export function pairSpec(seed: number, i: number): PairSpec {
  const r = rng(hash32(`pair:${seed}:${i}`));
  const ind = INDICATORS[i % INDICATORS.length]!;
  const month = (Math.floor(i / INDICATORS.length) * 3 + Math.floor(r() * 2)) % 12;
  const k = 1 + Math.floor(r() * 6);
  const kinds: PairKind[] = ["different_close", "different_threshold", "inverted"];
  const kind = i < TRUE_PAIRS ? "identical" : kinds[(i - TRUE_PAIRS) % kinds.length]!;
  return { ind, month, k, kind };
}

export function indicatorTerms(
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

// ---------- prices and books ----------

/** Prices move once per bucket (a minute in small mode, UNIVERSE_SIZES.realistic.priceBucketMs otherwise). */
export const PRICE_BUCKET_MS = UNIVERSE_SIZES.small.priceBucketMs;

export function fairNow(
  seed: number,
  key: string,
  fairBp: number,
  now: number,
  stepMs = PRICE_BUCKET_MS,
): number {
  const r = rng(hash32(`${seed}:${key}:${Math.floor(now / stepMs)}`));
  return Math.min(9_800, Math.max(200, fairBp + Math.floor(r() * 300) - 150));
}

/** Basis points (0..10000) as a dollar decimal string with 4 decimals, e.g. 5600 → "0.5600". */
export function bpToDollars(bp: number, decimals = 4): string {
  return formatFixed(bp, PRICE_DECIMALS, decimals, "trunc");
}

/** Kalshi order book levels: `[price_dollars, count_fp]`, bids only on each side, best last (ascending). */
export interface KalshiBook {
  yes_dollars: [string, string][];
  no_dollars: [string, string][];
}

export function levels(r: () => number, bestBidBp: number, depth: number): { bp: number; size: number }[] {
  const out: { bp: number; size: number }[] = [];
  for (let d = depth - 1; d >= 0; d--) {
    const bp = bestBidBp - d * 100;
    if (bp >= 100) out.push({ bp, size: 10 + Math.floor(r() * 490) });
  }
  return out;
}

export function roundToCent(bp: number): number {
  return Math.round(bp / 100) * 100;
}
