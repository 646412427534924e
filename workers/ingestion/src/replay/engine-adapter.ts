// The replay engine (@paulp/replay) as the runner drives it: a page of the fetch log at a time. The engine's
// `step` walks a timeline by index; each page is a timeline of its own, so the index restarts at every page.
import type { JsonValue, ReplayLegCategory, RiskLimitsView, TradablePair } from "@paulp/contracts";
import {
  finish,
  type ReplayConfig,
  type ReplayPair,
  type ReplayState,
  startReplay,
  step,
} from "@paulp/replay";
import type { EnginePort } from "./step";

export interface EngineInput {
  strategy: { id: string; kind: string; params: Record<string, JsonValue>; allocation: string };
  pairs: TradablePair[];
  /** The Kalshi legs' categories as ingestion holds them, by ticker (leg-categories.ts). */
  categories?: ReadonlyMap<string, ReplayLegCategory>;
  limits: RiskLimitsView;
  latencyMs: number;
  window: { from: string; to: string };
  codeVersion: string;
}

/** A tradable pair as the engine reads it; a pair whose Polymarket leg names no YES token cannot be replayed. */
function replayPair(
  p: TradablePair,
  categories: ReadonlyMap<string, ReplayLegCategory> | undefined,
): ReplayPair | null {
  const yesToken = p.polymarket.outcomeTokens?.[0];
  if (!yesToken) return null;
  const category = categories?.get(p.kalshi.marketId);
  return {
    pairId: p.pairId,
    kalshi: { marketId: p.kalshi.marketId, ...(category ? { category } : {}) },
    polymarket: { marketId: p.polymarket.marketId, yesToken },
    yesMapsTo: p.yesMapsTo,
  };
}

/** The engine's first state. The replay's portfolio starts with the strategy's allocation as its equity. */
export function engineStart(input: EngineInput): ReplayState {
  const config: ReplayConfig = {
    strategy: input.strategy,
    pairs: input.pairs.map((p) => replayPair(p, input.categories)).filter((p): p is ReplayPair => p !== null),
    window: input.window,
    risk: { limits: input.limits.limits, limitsVersion: input.limits.version },
    startingEquity: input.strategy.allocation,
    latencyMs: input.latencyMs,
    codeVersion: input.codeVersion,
  };
  return startReplay(config);
}

export const replayEngine: EnginePort<ReplayState> = {
  step: (state, page) => step({ ...state, cursor: 0 }, page, page.length),
  finish,
};
