// The report's figures from what the replay recorded, in integer micros (kit's money units) until formatted.
import { formatFixed, type Micros, mulDiv, orNull } from "@paulp/kit";

/** Largest fall from a running peak, in micros, and as a fraction of that peak in 1e-4 (0 when no peak is above 0). */
export function maxDrawdown(equity: readonly Micros[]): { amount: Micros; fractionUnits: number } {
  let peak = Number.NEGATIVE_INFINITY;
  let amount = 0;
  let fractionUnits = 0;
  for (const e of equity) {
    if (e > peak) peak = e;
    const fall = peak - e;
    if (fall > amount) {
      amount = fall;
      // Integer 1e-4 of the peak, cut toward zero: a drawdown is never reported larger than it was.
      // A fall of more than ~2^53 / 1e4 times its peak (a peak of a few micros, then a deep loss) has no safe
      // integer fraction: it is stated as the largest one rather than thrown mid-report.
      fractionUnits =
        peak > 0 ? (orNull(() => mulDiv(fall, 10_000, peak, "floor")) ?? Number.MAX_SAFE_INTEGER) : 0;
    }
  }
  return { amount, fractionUnits };
}

/**
 * The equity curve kept for the report: the last point of each `intervalMs` bucket (the whole curve of a day of
 * books would be megabytes), always with the first and the last point. Drawdown is computed on the whole curve,
 * not on this one.
 */
export function sampleCurve<T extends { atMs: number }>(points: readonly T[], intervalMs: number): T[] {
  if (points.length === 0) return [];
  const out: T[] = [points[0]!];
  for (let i = 1; i < points.length; i++) {
    const p = points[i]!;
    const next = points[i + 1];
    const lastOfBucket = !next || Math.floor(next.atMs / intervalMs) !== Math.floor(p.atMs / intervalMs);
    if (lastOfBucket) out.push(p);
  }
  return out;
}

/** Count by key, keys sorted (the report's canonical JSON sorts them anyway; this keeps logs stable too). */
export function tally(keys: Iterable<string>): Record<string, number> {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `part / whole` as a 4-decimal fraction of 1, cut toward zero ("0.0000" when there is no whole). */
export function fraction(part: number, whole: number): string {
  return formatFixed(whole > 0 ? mulDiv(part, 10_000, whole, "floor") : 0, 4);
}
