import type { UniverseMode } from "@paulp/sim-universe";
import type { SimKalshiKey } from "./kalshi/auth";

/** What every simulator handler gets: the venue state object's storage and the seed. */
export interface SimContext {
  storage: DurableObjectStorage;
  seed: number;
  now: () => number;
  /**
   * The time market data is answered at (prices, books, market statuses): `now`, unless a test holds the markets
   * still (`/__sim/clock { marketsHeld: true }`) while signatures, sessions, rate limits and order times run on.
   */
  marketNow: () => number;
  /**
   * Set when the request named the time to answer at (`x-venue-sim-at`: dev history, a past window on a simulated
   * clock): its rate limits are counted on a clock of their own, so a past time never drains the live buckets.
   */
  pastClock?: boolean;
  /** Kalshi public keys trusted from config (`SIM_KALSHI_PUBLIC_KEYS`, written by `pnpm dev`), by key id. */
  kalshiPublicKeys: Record<string, SimKalshiKey>;
  /** Which universe the simulator serves (`SIM_UNIVERSE`). */
  universe: UniverseMode;
}

/** A handler for one simulated host; answers null when it has no route for the request. */
export type SimHandler = (request: Request, url: URL, sim: SimContext) => Promise<Response | null>;
