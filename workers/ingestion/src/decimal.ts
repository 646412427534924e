/** Fixed-point helpers: prices are decimal strings in dollars, handled as integer units of 1e-4 (never floats). */

const SCALE = 4;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** `s` is exactly one digit, a point and four digits ("0.5600"), the form the venues usually send. */
function isFourDecimals(s: string): boolean {
  return (
    s.length === 6 &&
    s.charCodeAt(1) === 46 &&
    isDigit(s.charCodeAt(0)) &&
    isDigit(s.charCodeAt(2)) &&
    isDigit(s.charCodeAt(3)) &&
    isDigit(s.charCodeAt(4)) &&
    isDigit(s.charCodeAt(5))
  );
}

/** Units of a string that passed `isFourDecimals`. */
function fourDecimalUnits(s: string): number {
  return (
    (s.charCodeAt(0) - 48) * 10_000 +
    (s.charCodeAt(2) - 48) * 1000 +
    (s.charCodeAt(3) - 48) * 100 +
    (s.charCodeAt(4) - 48) * 10 +
    (s.charCodeAt(5) - 48)
  );
}

/** "0.56" → 5600; null when the string is not a plain non-negative decimal with at most 6 decimals. */
export function toUnits(s: string): number | null {
  // Fast path for the venues' usual "d.dddd": the same value the general path computes, without a regex.
  if (isFourDecimals(s)) return fourDecimalUnits(s);
  const m = /^(\d{1,9})(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) return null;
  const frac = (m[2] ?? "").padEnd(6, "0");
  // Round half up from 6 to 4 decimals.
  const six = Number(m[1]) * 1_000_000 + Number(frac);
  return Math.round(six / 100);
}

/** 5600 → "0.5600". */
export function fromUnits(units: number): string {
  const sign = units < 0 ? "-" : "";
  const abs = Math.abs(Math.round(units));
  const whole = Math.floor(abs / 10 ** SCALE);
  return `${sign}${whole}.${String(abs % 10 ** SCALE).padStart(SCALE, "0")}`;
}

/** Normalise a decimal string to 4 decimals, or null. */
export function normDecimal(s: string | null | undefined): string | null {
  if (s === null || s === undefined || s === "") return null;
  // Already "d.dddd": normalising gives it back unchanged.
  if (isFourDecimals(s)) return s;
  const u = toUnits(s);
  return u === null ? null : fromUnits(u);
}

/** A venue's float price in [0, 1] (Polymarket gamma sends numbers) as a 4-decimal string, or null. */
export function probabilityFromNumber(n: number | null | undefined): string | null {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0 || n > 1) return null;
  return fromUnits(Math.round(n * 10 ** SCALE));
}

/** 1 − p for a price string: a Kalshi NO bid at p is a YES ask at 1 − p. */
export function complement(price: string): string | null {
  const u = toUnits(price);
  return u === null || u > 10 ** SCALE ? null : fromUnits(10 ** SCALE - u);
}

/** A venue's price string in [0, 1] as a 4-decimal string, or null (anything above $1 is not a price). */
export function probabilityFromString(s: string | null | undefined): string | null {
  const d = normDecimal(s);
  return d === null || (toUnits(d) ?? Number.POSITIVE_INFINITY) > 10 ** SCALE ? null : d;
}

/**
 * The midpoint of bid and ask when both exist, otherwise the last price; null when none is usable. A mark is
 * a price risk can value a position at: in (0, 1]. Zero or above $1 is no mark (risk refuses a batch with one).
 */
export function markFrom(bid: string | null, ask: string | null, last: string | null): string | null {
  const b = bid === null ? null : toUnits(bid);
  const a = ask === null ? null : toUnits(ask);
  const units =
    b !== null && a !== null && a >= b && a > 0
      ? Math.round((a + b) / 2)
      : last === null
        ? null
        : toUnits(last);
  return units === null || units <= 0 || units > 10 ** SCALE ? null : fromUnits(units);
}
