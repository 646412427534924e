// Ingestion's price rules over the money module (@paulp/kit): a venue's price is a plain non-negative decimal
// with up to 6 decimals, kept as our 4-decimal string (half up); a probability is in [0, 1]; a mark in (0, 1].
import { formatPrice, orNull, PRICE_DECIMALS, parseFixed, venueDollars } from "@paulp/kit";

/** $1 in units of 1e-4 dollars. */
const ONE = 10 ** PRICE_DECIMALS;

/** "0.56" → 5600 (1e-4 $, half up from up to 6 decimals); null when it is not a plain non-negative decimal. */
export function priceUnits(s: string): number | null {
  return orNull(() => parseFixed(s, PRICE_DECIMALS, { rounding: "half-up", maxDecimals: 6, signed: false }));
}

/** Normalise a venue's decimal string to 4 decimals, or null. */
export function normPrice(s: string | null | undefined): string | null {
  if (s === null || s === undefined || s === "") return null;
  // Already "d.dddd": normalising gives it back unchanged (no string built).
  if (s.length === 6 && s.charCodeAt(1) === 46 && priceUnits(s) !== null) return s;
  return venueDollars(s, "half-up");
}

/** A venue's float price in [0, 1] (Polymarket gamma sends numbers) as a 4-decimal string, or null. */
export function probabilityFromNumber(n: number | null | undefined): string | null {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0 || n > 1) return null;
  return formatPrice(Math.round(n * ONE));
}

/** 1 − p for a price string: a Kalshi NO bid at p is a YES ask at 1 − p. */
export function complement(price: string): string | null {
  const u = priceUnits(price);
  return u === null || u > ONE ? null : formatPrice(ONE - u);
}

/** A venue's price string in [0, 1] as a 4-decimal string, or null (anything above $1 is not a price). */
export function probabilityFromString(s: string | null | undefined): string | null {
  const d = normPrice(s);
  return d === null || (priceUnits(d) ?? Number.POSITIVE_INFINITY) > ONE ? null : d;
}

/**
 * The midpoint of bid and ask when both exist, otherwise the last price; null when none is usable. A mark is
 * a price risk can value a position at: in (0, 1]. Zero or above $1 is no mark (risk refuses a batch with one).
 */
export function markFrom(bid: string | null, ask: string | null, last: string | null): string | null {
  const b = bid === null ? null : priceUnits(bid);
  const a = ask === null ? null : priceUnits(ask);
  const units =
    b !== null && a !== null && a >= b && a > 0
      ? Math.round((a + b) / 2)
      : last === null
        ? null
        : priceUnits(last);
  return units === null || units <= 0 || units > ONE ? null : formatPrice(units);
}
