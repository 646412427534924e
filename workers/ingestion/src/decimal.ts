/** Fixed-point helpers: prices are decimal strings in dollars, handled as integer units of 1e-4 (never floats). */

const SCALE = 4;

/** "0.56" → 5600; null when the string is not a plain non-negative decimal with at most 6 decimals. */
export function toUnits(s: string): number | null {
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

/** The midpoint of bid and ask when both exist, otherwise the last price; null when none is usable. */
export function markFrom(bid: string | null, ask: string | null, last: string | null): string | null {
  const b = bid === null ? null : toUnits(bid);
  const a = ask === null ? null : toUnits(ask);
  if (b !== null && a !== null && a >= b && a > 0) return fromUnits(Math.round((a + b) / 2));
  return last === null ? null : normDecimal(last);
}
