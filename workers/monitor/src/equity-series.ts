import type { EquitySample, RiskExposure } from "@paulp/contracts";

/** One week of one-minute samples. */
export const EQUITY_KEEP_MINUTES = 7 * 24 * 60;

/** The minute a time falls in (the series' key: a second evaluation in the same minute replaces the first). */
export function minuteOf(atMs: number): number {
  return Math.floor(atMs / 60_000);
}

/** Cents of a dollar decimal string (money is never a float here). */
function cents(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(text);
  if (!m) throw new Error(`not a dollar amount: ${text}`);
  const frac = `${m[3] ?? ""}0000`.slice(0, 4);
  const units = BigInt(m[2]!) * 10_000n + BigInt(frac);
  return m[1] === "-" ? -units : units;
}

function dollars(units: bigint): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const whole = abs / 10_000n;
  const frac = (abs % 10_000n).toString().padStart(4, "0").slice(0, 2);
  return `${neg ? "-" : ""}${whole}.${frac}`;
}

/** A sample of risk's exposure report (null when risk did not answer: a gap in the curve, never a made-up point). */
export function equitySample(exposure: RiskExposure | null, atMs: number): EquitySample | null {
  if (!exposure) return null;
  const limit = (name: string) => exposure.limits.find((l) => l.limit === name)?.observedPct ?? "unknown";
  const dayPnl =
    exposure.equity !== null && exposure.dayStartEquity !== null
      ? dollars(cents(exposure.equity) - cents(exposure.dayStartEquity))
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
