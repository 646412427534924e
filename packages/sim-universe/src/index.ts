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
 *
 * This file is the one import for the rest: seeds.ts holds the shared ground (modes, PRNG, word tables, pair
 * terms, prices), kalshi-universe.ts and polymarket-universe.ts each venue's half; the planted pairs join them here.
 * anthropic-fixtures.ts holds the Anthropic double's adversarial pairs.
 *
 * Test and simulator data only (this package holds generators, no server code): venue-sim serves it, the workers'
 * tests read it to know what the simulator serves; no production worker depends on it.
 */

import { kalshiTickerAt } from "./kalshi-universe";
import { polymarketUniverse } from "./polymarket-universe";
import { LOOKALIKE_PAIRS, type PlantedPair, pairSpec, TRUE_PAIRS } from "./seeds";

export * from "./anthropic-fixtures";
export * from "./kalshi-universe";
export * from "./polymarket-universe";
export * from "./seeds";

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
