// Exact integer arithmetic for money and percentages. Money is held in "units" of 1/10,000 of a dollar
// (every DecimalString has at most 4 decimals, so parsing is exact); percentages in units of 1/10,000 %.
// Limit comparisons multiply two such integers, which can pass 2^53, so they are done in BigInt.

/** Units per dollar. */
export const MONEY_SCALE = 10_000;
/** Percent units per 1 %. */
export const PCT_SCALE = 10_000;
/** Percent units in 100 %: `exposure * FULL <= pct * equity` is "exposure <= pct% of equity". */
export const FULL = 100 * PCT_SCALE;

const DECIMAL = /^(-?)(\d{1,12})(?:\.(\d{1,4}))?$/;

/** Parse a decimal string (≤ 4 decimals) into integer units of 1/10,000; null if malformed. */
export function parseUnits(text: string): number | null {
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const frac = (m[3] ?? "").padEnd(4, "0");
  const value = Number(m[2]) * 10_000 + Number(frac);
  if (!Number.isSafeInteger(value)) return null;
  return m[1] === "-" ? -value : value;
}

/** Format integer units of 1/10,000 as a decimal string with `decimals` places (truncating toward zero). */
export function formatUnits(units: number | bigint, decimals = 4): string {
  const big = BigInt(units);
  const neg = big < 0n;
  const abs = neg ? -big : big;
  const whole = abs / 10_000n;
  const frac = (abs % 10_000n).toString().padStart(4, "0").slice(0, decimals);
  return `${neg && abs !== 0n ? "-" : ""}${whole}${decimals > 0 ? `.${frac}` : ""}`;
}

/** Money units as dollars with cents, e.g. "100000.00". */
export function formatMoney(units: number | bigint): string {
  return formatUnits(units, 2);
}

/** Parse a percentage string like "5" or "2.5" into percent units. */
export function parsePct(text: string): number | null {
  return parseUnits(text);
}

/** `part / whole` in percent units (floored), or null when `whole` is not positive. */
export function ratioPctUnits(part: number, whole: number): bigint | null {
  if (whole <= 0) return null;
  return (BigInt(part) * BigInt(FULL)) / BigInt(whole);
}

/** Format percent units as "6.1234". */
export function formatPct(units: number | bigint): string {
  return formatUnits(units, 4);
}

/** True when `part <= pct% of whole`, exactly. */
export function withinPct(part: number, pctUnits: number, whole: number): boolean {
  return BigInt(part) * BigInt(FULL) <= BigInt(pctUnits) * BigInt(whole);
}
