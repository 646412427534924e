import type { TradedMarket, Venue } from "@paulp/contracts";

/**
 * The fast path's schedule: which traded markets to refresh on this tick, in what order, and how many under
 * each venue's rate budget. Pure: the caller passes the traded set, when each was last refreshed, and now.
 */
export interface FastPathConfig {
  /** How often the Durable Object's alarm runs a tick. */
  tickMs: number;
  /** Each traded market is refreshed at least this often (risk's STALE_MARK limit is 120 s; p99 ≪ 60 s). */
  refreshEveryMs: number;
  /** Venue requests one tick may make: Kalshi and Polymarket one book each per market; IBKR one snapshot call. */
  requestsPerTick: Record<Venue, number>;
  /** Conids per IBKR snapshot call. */
  conidsPerCall: number;
}

/**
 * Budgets under the venues' documented limits, beside what the crawl uses (docs/venues.md); ingestion's
 * `FAST_PATH_RATE` buckets refill at exactly these per-tick counts:
 * - Kalshi: Basic tier 20 reads/s. The crawl takes 10/s; the fast path 5/s (25 a 5 s tick): 15/s together.
 * - Polymarket CLOB `GET /book`: 1,500 per 10 s. The crawl reads gamma, not the CLOB; the fast path takes 10/s.
 * - IBKR: the Client Portal spec documents no limit for the snapshot; one snapshot call (plus its
 *   `/iserver/accounts` once a session) a tick is at most 0.4 requests/s.
 * At these budgets a 15 s cycle covers 75 Kalshi legs, 150 Polymarket legs and 150 IBKR instruments.
 */
export const FAST_PATH: FastPathConfig = {
  tickMs: 5_000,
  refreshEveryMs: 15_000,
  requestsPerTick: { kalshi: 25, polymarket: 50, ibkr: 1 },
  conidsPerCall: 50,
};

/** The key a market's refresh time is kept under. */
export const tradedKey = (m: { venue: Venue; market: string }): string => `${m.venue}:${m.market}`;

/** What one tick does. */
export interface TickPlan {
  /** Kalshi and Polymarket markets whose book to read, most overdue first. */
  books: TradedMarket[];
  /** IBKR conids, one inner list per snapshot call. */
  snapshots: TradedMarket[][];
  /** Due markets left for a later tick (the budget was spent). */
  deferred: number;
}

/**
 * Markets due on this tick: never refreshed, or refreshed so long ago that waiting one more tick would pass
 * `refreshEveryMs`. The most overdue go first (never refreshed before all); ties by key, so the order is stable.
 */
export function planTick(
  traded: readonly TradedMarket[],
  refreshedAt: ReadonlyMap<string, number>,
  now: number,
  config: FastPathConfig = FAST_PATH,
): TickPlan {
  const due = traded
    .map((m) => ({ m, key: tradedKey(m), at: refreshedAt.get(tradedKey(m)) ?? Number.NEGATIVE_INFINITY }))
    .filter((d) => now + config.tickMs - d.at > config.refreshEveryMs)
    .sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const books: TradedMarket[] = [];
  const conids: TradedMarket[] = [];
  const used = { kalshi: 0, polymarket: 0 };
  let deferred = 0;
  const ibkrCapacity = config.requestsPerTick.ibkr * config.conidsPerCall;
  for (const { m } of due) {
    if (m.venue === "ibkr") {
      if (conids.length < ibkrCapacity) conids.push(m);
      else deferred++;
    } else if (used[m.venue] < config.requestsPerTick[m.venue]) {
      used[m.venue]++;
      books.push(m);
    } else deferred++;
  }
  const snapshots: TradedMarket[][] = [];
  for (let i = 0; i < conids.length; i += config.conidsPerCall)
    snapshots.push(conids.slice(i, i + config.conidsPerCall));
  return { books, snapshots, deferred };
}
