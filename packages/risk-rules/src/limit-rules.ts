import { type BreakerState, DEFAULT_RISK_LIMITS, type RiskLimits, type Venue } from "@paulp/contracts";
import { orNull, parseDollars, parsePct } from "@paulp/kit";

/** The limits in integer units (parsed once per version) and the fixed venue rules evaluations check. */

/** Limits parsed into integer units once per version. */
export interface ParsedLimits {
  version: number;
  positionPct: number;
  concentrationPct: number;
  marketPct: number;
  categoryPct: number;
  dailyLossPct: number;
  drawdownPct: number;
  maxOrderQuantity: number;
  maxOrderNotional: number;
  maxOrdersPerMinute: number;
  maxMarkAgeMs: number;
  probeNotional: number;
  /** Price collar: percent units of the reference price, and the least width in money units. */
  collarPct: number;
  collarMin: number;
  /** The correlation groups, indexed for the correlated-exposure check (one running total per correlated set). */
  correlation: CorrelationIndex;
}

/**
 * The correlation groups as the correlated-exposure check reads them. A market's correlated set is itself and
 * every market sharing a group with it; markets in the same groups (all the markets of a group, when groups do
 * not overlap) share one numbered set, so the view can keep one running total per set, moved by every change
 * of a member's exposure, and the check reads it in O(1) instead of summing the set.
 */
export interface CorrelationIndex {
  /** The members of each correlated set (distinct market keys). */
  sets: string[][];
  /** Per grouped market: the number of its own correlated set. */
  setOf: Map<string, number>;
  /** Per grouped market: every set it is a member of (its own, and those of markets it shares a group with). */
  memberOf: Map<string, number[]>;
}

/**
 * Index correlation groups (`{ name: ["venue:market", …] }`): each grouped market's correlated set, numbered
 * once per distinct list of groups it is in (one set per group when groups do not overlap), so indexing costs
 * O(Σ group sizes) plus one union per distinct list.
 */
export function correlationIndex(groups: Record<string, string[]>): CorrelationIndex {
  // Group names are pushed in one order for every market, so equal lists are equal strings.
  const groupsOf = new Map<string, string[]>();
  for (const [name, members] of Object.entries(groups)) {
    for (const m of new Set(members)) {
      const names = groupsOf.get(m);
      if (names) names.push(name);
      else groupsOf.set(m, [name]);
    }
  }
  const sets: string[][] = [];
  const numbered = new Map<string, number>();
  const setOf = new Map<string, number>();
  const memberOf = new Map<string, number[]>();
  for (const [m, names] of groupsOf) {
    const key = JSON.stringify(names);
    let n = numbered.get(key);
    if (n === undefined) {
      const members = [...new Set(names.flatMap((name) => groups[name]!))];
      n = sets.push(members) - 1;
      numbered.set(key, n);
      for (const k of members) {
        const of = memberOf.get(k);
        if (of) of.push(n);
        else memberOf.set(k, [n]);
      }
    }
    setOf.set(m, n);
  }
  return { sets, setOf, memberOf };
}

/** Every market correlated with `mk`, itself included (just `mk` when it is in no group). */
export function correlatedWith(index: CorrelationIndex, mk: string): string[] {
  const n = index.setOf.get(mk);
  return n === undefined ? [mk] : index.sets[n]!;
}

/** The two limits whose breach by the portfolio itself sends the breaker to HALT. */
export type LossLimits = Pick<ParsedLimits, "dailyLossPct" | "drawdownPct">;

/** Price range and tick per venue, in micros. */
export const VENUE_PRICE_RULES: Record<Venue, { min: number; max: number; tick: number }> = {
  kalshi: { min: 10_000, max: 990_000, tick: 10_000 },
  polymarket: { min: 1_000, max: 999_000, tick: 1_000 },
  ibkr: { min: 10_000, max: 10_000_000_000, tick: 10_000 },
};

/** The least quantity step per venue, in hundredths: Kalshi counts at 0.01; IBKR orders are whole shares. */
export const VENUE_LOT: Record<Venue, number> = { kalshi: 1, polymarket: 1, ibkr: 100 };

/** The price collar when the stored limits do not say: 10 % of the reference, at least $0.05. */
export const DEFAULT_COLLAR_PCT = DEFAULT_RISK_LIMITS.priceCollarPct ?? "10";

export const DEFAULT_COLLAR_MINIMUM = DEFAULT_RISK_LIMITS.priceCollarMinimum ?? "0.05";

/** Parse limits into units; null if any figure is malformed (the caller fails closed). */
export function parseLimits(limits: RiskLimits, version: number): ParsedLimits | null {
  const pcts = [
    limits.maxPositionPct,
    limits.maxConcentrationPct,
    limits.maxMarketExposurePct,
    limits.maxCategoryExposurePct,
    limits.maxDailyLossPct,
    limits.maxDrawdownPct,
  ].map((p) => orNull(() => parsePct(p)));
  const notional = orNull(() => parseDollars(limits.maxOrderNotional));
  const probe =
    limits.recoveryProbeNotional === undefined
      ? null
      : orNull(() => parseDollars(limits.recoveryProbeNotional!));
  if (pcts.some((p) => p === null || p < 0) || notional === null || notional <= 0) return null;
  if (limits.recoveryProbeNotional !== undefined && (probe === null || probe < 0)) return null;
  // The collar's defaults (10 %, $0.05) apply to limits stored before it existed.
  const collarPct = orNull(() => parsePct(limits.priceCollarPct ?? DEFAULT_COLLAR_PCT));
  const collarMin = orNull(() => parseDollars(limits.priceCollarMinimum ?? DEFAULT_COLLAR_MINIMUM));
  if (collarPct === null || collarPct < 0 || collarMin === null || collarMin < 0) return null;
  const [positionPct, concentrationPct, marketPct, categoryPct, dailyLossPct, drawdownPct] = pcts as number[];
  return {
    version,
    positionPct: positionPct!,
    concentrationPct: concentrationPct!,
    marketPct: marketPct!,
    categoryPct: categoryPct!,
    dailyLossPct: dailyLossPct!,
    drawdownPct: drawdownPct!,
    maxOrderQuantity: limits.maxOrderQuantity,
    maxOrderNotional: notional,
    maxOrdersPerMinute: limits.maxOrdersPerMinute,
    maxMarkAgeMs: limits.maxMarkAgeSeconds * 1000,
    probeNotional: probe ?? Math.floor(notional / 10),
    collarPct,
    collarMin,
    correlation: correlationIndex(limits.correlationGroups),
  };
}

/**
 * Limits in force in a breaker state: CAUTION and RECOVERY halve the exposure limits, order size, order
 * notional and submit rate (loss limits stay: they send the breaker to HALT).
 */
export function effectiveLimits(limits: ParsedLimits, state: BreakerState): ParsedLimits {
  if (state !== "CAUTION" && state !== "RECOVERY") return limits;
  const half = (n: number) => Math.floor(n / 2);
  return {
    ...limits,
    positionPct: half(limits.positionPct),
    concentrationPct: half(limits.concentrationPct),
    marketPct: half(limits.marketPct),
    categoryPct: half(limits.categoryPct),
    maxOrderQuantity: Math.max(1, half(limits.maxOrderQuantity)),
    maxOrderNotional: half(limits.maxOrderNotional),
    maxOrdersPerMinute: Math.max(1, half(limits.maxOrdersPerMinute)),
  };
}
