// The replay engine's state and what a replay runs: plain JSON (no Map, no class, no bytes), so a Durable Object
// persists it between bounded steps as it is. The engine's version is kept beside it: a state saved by an older
// engine lacks the fields added since (`step` fills them in).
import type {
  BookLevel,
  BreakerState,
  JsonValue,
  OrderIntent,
  ReplayLegCategory,
  ReplayTrade,
  RiskLimits,
} from "@paulp/contracts";
import { parseDollars } from "@paulp/kit";
import { emptyPortfolio, type PortfolioState, type Reservation } from "@paulp/risk-rules";

/** A change to what the engine computes must change this (it is in every report's manifest). */
// .2: a Kalshi leg's category as ingestion held it at the start (NO_CATEGORY no longer denies every order of a
// window that re-fetched no event or series); at most one order per strategy, pair and minute, and decisions only
// on books no older than the loop reads (DECISION_BOOK_MAX_AGE_SECONDS), as the loop.
// .3: the summary names when the first and the last sighting replayed were fetched (the citation's span).
// .4: the summary names the largest gap between consecutive sightings replayed (the citation's coverage).
export const ENGINE_VERSION = "replay-engine.4";

/** The order of a Polymarket leg's YES token, as the pair review recorded it. */
export interface ReplayPair {
  pairId: string;
  /** `category`: the leg's category as ingestion held it when the replay started (absent: none known). */
  kalshi: { marketId: string; category?: ReplayLegCategory };
  polymarket: { marketId: string; yesToken: string };
  yesMapsTo: "YES" | "NO";
}

/** What a replay runs: the strategy, its pairs, risk's limits and the fill latency. All of it is in the manifest. */
export interface ReplayConfig {
  strategy: { id: string; kind: string; params: Record<string, JsonValue>; allocation: string };
  pairs: ReplayPair[];
  window: { from: string; to: string };
  risk: { limits: RiskLimits; limitsVersion: number };
  /** Equity the replay's portfolio starts with, in dollars. */
  startingEquity: string;
  latencyMs: number;
  /** The build that ran it (the deploy's commit), or "offline". */
  codeVersion: string;
  /** One equity/exposure point kept per this interval in the report (default one minute). */
  curveIntervalMs?: number;
}

/** A recorded book of a leg: the YES view, the evidence it came from and when it was fetched. */
interface HeldBook {
  bids: BookLevel[];
  asks: BookLevel[];
  hash: string;
  atMs: number;
}

/** An approved order waiting for its fill time. */
interface PendingOrder {
  intent: OrderIntent;
  decidedAtMs: number;
  fillAtMs: number;
}

/** The engine's whole state, plain JSON (no Map, no class, no bytes): persisted as it is between steps. */
export interface ReplayState {
  config: ReplayConfig;
  /** Sightings consumed so far (the next one is `timeline[cursor]`). */
  cursor: number;
  consumed: string[];
  portfolio: PortfolioState;
  reservations: Record<string, Reservation>;
  breaker: BreakerState;
  approvals: number[];
  books: Record<string, HeldBook>;
  /** What ingestion knows of Kalshi events and series, and each market's category (from its pages). */
  kalshiEvents: Record<string, { seriesTicker: string; title: string }>;
  kalshiSeries: Record<string, string>;
  categories: Record<string, string | null>;
  pending: PendingOrder[];
  /** When the first and the last sighting replayed were fetched (epoch ms; null before the first). */
  evidenceFromMs: number | null;
  evidenceToMs: number | null;
  /**
   * The longest time between two consecutive sightings replayed (ms; 0 before the second). Null when not known: a
   * state saved by an engine before .4 with sightings already replayed (their gaps were not kept).
   */
  largestGapMs: number | null;
  /** The minute (ms / 60,000) of each pair's last approved order: the loop places one per pair a minute. */
  orderedMinute: Record<string, number>;
  orderSeq: number;
  decisions: number;
  staleDecisions: number;
  denials: string[];
  /** Sightings not read (not 2xx, IBKR, or not a page or book the engine reads) and those that failed to decode. */
  skipped: number;
  undecodable: number;
  trades: ReplayTrade[];
  turnover: number;
  fees: number;
  curve: { atMs: number; equity: number; byCategory: Record<string, number> }[];
}

/** A fresh replay. */
export function startReplay(config: ReplayConfig): ReplayState {
  return {
    config,
    cursor: 0,
    consumed: [],
    portfolio: emptyPortfolio(parseDollars(config.startingEquity)),
    reservations: {},
    breaker: "NORMAL",
    approvals: [],
    books: {},
    kalshiEvents: {},
    kalshiSeries: {},
    categories: {},
    pending: [],
    orderedMinute: {},
    evidenceFromMs: null,
    evidenceToMs: null,
    largestGapMs: 0,
    orderSeq: 0,
    decisions: 0,
    staleDecisions: 0,
    denials: [],
    skipped: 0,
    undecodable: 0,
    trades: [],
    turnover: 0,
    fees: 0,
    curve: [],
  };
}

/** An epoch-ms time as the report writes it. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
