import type { BreakerState, LimitUse, RiskExposure } from "@paulp/contracts";
import { FULL_PCT, formatDollars, formatPct, ratioPct } from "@paulp/kit";
import { effectiveLimits, type ParsedLimits } from "./limit-rules";
import { exposureUnits } from "./portfolio";
import { type RiskView, staleHeldPositions } from "./view";
import { correlatedExposure } from "./view-groups";

function use(
  limit: string,
  part: number,
  whole: number | null,
  limitPct: number,
  at: string | null,
): LimitUse {
  const observed = whole === null ? null : ratioPct(part, whole);
  const used =
    observed === null || limitPct <= 0 ? null : (observed * BigInt(FULL_PCT)) / 100n / BigInt(limitPct);
  return {
    limit,
    observedPct: observed === null ? "unknown" : formatPct(observed),
    limitPct: formatPct(limitPct),
    usedPct: used === null ? "unknown" : formatPct(used),
    at,
  };
}

function worst(entries: Iterable<[string, number]>): [string | null, number] {
  let key: string | null = null;
  let max = 0;
  for (const [k, v] of entries) {
    if (v > max) {
      max = v;
      key = k;
    }
  }
  return [key, max];
}

/** Each limit's worst current use against the limits in force for the breaker state. */
export function exposureReport(input: {
  view: RiskView;
  limits: ParsedLimits;
  breakerState: BreakerState;
  limitsVersion: number;
  realised: string;
  unrealised: string | null;
  openPositions: number;
  nowMs: number;
}): RiskExposure {
  const { view, breakerState } = input;
  const limits = effectiveLimits(input.limits, breakerState);
  const e = view.equity;
  const positionExposure = new Map<string, number>();
  for (const [key, qty] of view.effectiveQty) {
    const mk = key.slice(key.indexOf("|") + 1);
    const mark = view.marks[mk];
    if (mark?.price != null && qty !== 0)
      positionExposure.set(key, exposureUnits(mark.venue, qty, mark.price));
  }
  const groups = new Map<string, number>();
  for (const mk of view.marketExposure.keys())
    groups.set(mk, correlatedExposure(view, limits.correlation, mk));
  const [posAt, pos] = worst(positionExposure);
  const [mAt, m] = worst(view.marketExposure);
  const [gAt, g] = worst(groups);
  const [cAt, c] = worst(view.categoryExposure);
  const dayLoss = e !== null && view.dayStartEquity !== null ? Math.max(0, view.dayStartEquity - e) : 0;
  const drawdown = e !== null && view.highWaterMark !== null ? Math.max(0, view.highWaterMark - e) : 0;
  return {
    equity: e === null ? null : formatDollars(e, 2, "trunc"),
    dayStartEquity: view.dayStartEquity === null ? null : formatDollars(view.dayStartEquity, 2, "trunc"),
    highWaterMark: view.highWaterMark === null ? null : formatDollars(view.highWaterMark, 2, "trunc"),
    realisedPnl: input.realised,
    unrealisedPnl: input.unrealised,
    openPositions: input.openPositions,
    breakerState,
    limitsVersion: input.limitsVersion,
    limits: [
      use("maxPositionPct", pos, e, limits.positionPct, posAt),
      use("maxConcentrationPct", m, e, limits.concentrationPct, mAt),
      use("maxMarketExposurePct", g, e, limits.marketPct, gAt),
      use("maxCategoryExposurePct", c, e, limits.categoryPct, cAt),
      use("maxDailyLossPct", dayLoss, view.dayStartEquity, limits.dailyLossPct, "portfolio"),
      use("maxDrawdownPct", drawdown, view.highWaterMark, limits.drawdownPct, "portfolio"),
    ],
    // Without a mark price, or valued at a mark older than the mark-age limit (opening orders are then denied).
    unmarkedPositions: [
      ...view.unmarked,
      ...staleHeldPositions(view, input.nowMs, limits.maxMarkAgeMs).map(([key]) => key),
    ],
  };
}
