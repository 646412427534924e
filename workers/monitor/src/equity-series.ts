import type { EquitySample, RiskExposure } from "@paulp/contracts";
import { formatDollars, parseDollars } from "@paulp/kit";

/** One week of one-minute samples. */
export const EQUITY_KEEP_MINUTES = 7 * 24 * 60;

/** The minute a time falls in (the series' key: a second evaluation in the same minute replaces the first). */
export function minuteOf(atMs: number): number {
  return Math.floor(atMs / 60_000);
}

/** A sample of risk's exposure report (null when risk did not answer: a gap in the curve, never a made-up point). */
export function equitySample(exposure: RiskExposure | null, atMs: number): EquitySample | null {
  if (!exposure) return null;
  const limit = (name: string) => exposure.limits.find((l) => l.limit === name)?.observedPct ?? "unknown";
  const dayPnl =
    exposure.equity !== null && exposure.dayStartEquity !== null
      ? formatDollars(parseDollars(exposure.equity) - parseDollars(exposure.dayStartEquity), 2)
      : null;
  return {
    at: new Date(minuteOf(atMs) * 60_000).toISOString(),
    equity: exposure.equity,
    dayStartEquity: exposure.dayStartEquity,
    highWaterMark: exposure.highWaterMark,
    dayPnl,
    realisedPnl: exposure.realisedPnl,
    unrealisedPnl: exposure.unrealisedPnl,
    dailyLossPct: limit("maxDailyLossPct"),
    drawdownPct: limit("maxDrawdownPct"),
  };
}
