// The one money module: fixed-point decimals as safe integers, never floats. Every amount is an integer count of
// 10^-d of its unit, named by its scale:
//   - dollars in micros (6 decimals: the venues' fee and cost fields carry 6), or in 1e-4 (our stored strings);
//   - contract quantities in hundredths (Kalshi trades counts at 0.01 granularity; IBKR shares are whole);
//   - percentages in 1e-4 of a percent.
// Products that can pass 2^53 (limit checks, fees) are done in BigInt. Rounding is always named; the one failure
// mode is `MoneyError` (malformed text, a value past 2^53, an inexact quantity), thrown, or turned into null at a
// boundary that wants it with `orNull`.

/** The one failure of this module: the input is not an amount it can hold exactly. */
export class MoneyError extends Error {
  override name = "MoneyError";
}

/**
 * How a value between two representable ones is rounded. `half-up` rounds a tie toward +∞ (as `Math.round`);
 * `ceil` never under-counts (fees); `floor` never over-counts; `trunc` drops digits (toward zero).
 */
export type Rounding = "half-up" | "ceil" | "floor" | "trunc";

/** Decimals of our stored price and money strings ("0.5600"). */
export const PRICE_DECIMALS = 4;
/** Decimals of micros (the venues' dollar fields carry up to 6). */
export const MICRO_DECIMALS = 6;
/** Decimals of a contract quantity (Kalshi's count granularity is 0.01). */
export const QTY_DECIMALS = 2;
/** Decimals of a percentage's units ("2.5" % = 25_000). */
export const PCT_DECIMALS = 4;

/** Integer micro-dollars (1e-6 $). */
export type Micros = number;
/** Integer hundredths of a contract (0.37 contracts = 37). */
export type Hundredths = number;
/** Integer 1e-4 of a percent. */
export type PctUnits = number;

/** Micros in one dollar. */
export const MICROS_PER_DOLLAR = 1_000_000;
/** Hundredths in one contract. */
export const HUNDREDTHS_PER_CONTRACT = 100;
/** Percent units in 100 %: `part * FULL_PCT <= pct * whole` is "part ≤ pct % of whole". */
export const FULL_PCT = 100 * 10 ** PCT_DECIMALS;

const POW10: bigint[] = Array.from({ length: 19 }, (_, i) => 10n ** BigInt(i));
const DECIMAL = /^(-?)(\d{1,18})(?:\.(\d{1,18}))?$/;

/** `n / d` rounded as named (d > 0). */
export function divRound(n: bigint, d: bigint, rounding: Rounding): bigint {
  if (d <= 0n) throw new MoneyError("division by a non-positive number");
  const q = n / d; // truncated toward zero
  const r = n % d;
  if (r === 0n) return q;
  switch (rounding) {
    case "trunc":
      return q;
    case "floor":
      return n < 0n ? q - 1n : q;
    case "ceil":
      return n > 0n ? q + 1n : q;
    case "half-up": {
      // Ties toward +∞: floor(n / d + 1/2) = floor((2n + d) / 2d).
      const twice = 2n * n + d;
      const dd = 2n * d;
      const t = twice / dd;
      return twice % dd !== 0n && twice < 0n ? t - 1n : t;
    }
  }
}

function safe(b: bigint, what: string): number {
  const n = Number(b);
  if (!Number.isSafeInteger(n)) throw new MoneyError(`${what} is past 2^53`);
  return n;
}

/**
 * Parse a plain decimal string ("0.56", "-12.5000") into integer units of 10^-`decimals`. More fraction digits
 * than `decimals` are refused unless `rounding` says how to drop them; `maxDecimals` caps the digits accepted
 * at all; `signed: false` refuses a minus sign.
 */
export function parseFixed(
  text: string,
  decimals: number,
  opts: { rounding?: Rounding; maxDecimals?: number; signed?: boolean } = {},
): number {
  // The venues' usual "d.dddd" at 4 decimals, without a regex or an allocation (ingestion parses millions).
  if (decimals === 4 && text.length === 6 && text.charCodeAt(1) === 46) {
    const a = text.charCodeAt(0) - 48;
    const b = text.charCodeAt(2) - 48;
    const c = text.charCodeAt(3) - 48;
    const d = text.charCodeAt(4) - 48;
    const e = text.charCodeAt(5) - 48;
    if ((a | b | c | d | e) >= 0 && a <= 9 && b <= 9 && c <= 9 && d <= 9 && e <= 9)
      return a * 10_000 + b * 1000 + c * 100 + d * 10 + e;
  }
  const m = DECIMAL.exec(text);
  if (!m) throw new MoneyError(`not a decimal string: ${JSON.stringify(text.slice(0, 40))}`);
  const neg = m[1] === "-";
  if (neg && opts.signed === false) throw new MoneyError(`negative: ${text}`);
  const frac = m[3] ?? "";
  if (opts.maxDecimals !== undefined && frac.length > opts.maxDecimals)
    throw new MoneyError(`more than ${opts.maxDecimals} decimals: ${text}`);
  if (frac.length > decimals && opts.rounding === undefined)
    throw new MoneyError(`more than ${decimals} decimals: ${text}`);
  const digits = BigInt(m[2]! + frac) * (neg ? -1n : 1n);
  const units =
    frac.length <= decimals
      ? digits * POW10[decimals - frac.length]!
      : divRound(digits, POW10[frac.length - decimals]!, opts.rounding!);
  return safe(units, text);
}

/**
 * Units of 10^-`decimals` as a decimal string with `places` decimals (default all of them), rounded as named when
 * `places` drops digits (default `trunc`). A negative zero prints as "0…".
 */
export function formatFixed(
  units: number | bigint,
  decimals: number,
  places = decimals,
  rounding: Rounding = "trunc",
): string {
  if (typeof units === "number" && !Number.isSafeInteger(units))
    throw new MoneyError(`not a safe integer: ${units}`);
  let big = BigInt(units);
  let d = decimals;
  if (places < decimals) {
    big = divRound(big, POW10[decimals - places]!, rounding);
    d = places;
  } else if (places > decimals) {
    big *= POW10[places - decimals]!;
    d = places;
  }
  const neg = big < 0n;
  const abs = (neg ? -big : big).toString().padStart(d + 1, "0");
  const whole = abs.slice(0, abs.length - d);
  const frac = abs.slice(abs.length - d);
  return `${neg ? "-" : ""}${whole}${d > 0 ? `.${frac}` : ""}`;
}

/** Units of 10^-`from` as units of 10^-`to`, rounded as named when digits drop. */
export function rescale(units: number | bigint, from: number, to: number, rounding: Rounding): number {
  const big = BigInt(units);
  if (to >= from) return safe(big * POW10[to - from]!, String(units));
  return safe(divRound(big, POW10[from - to]!, rounding), String(units));
}

/** `a × b / d` exactly in BigInt, rounded as named; a safe integer or `MoneyError`. */
export function mulDiv(a: number, b: number, d: number | bigint, rounding: Rounding): number {
  return safe(divRound(BigInt(a) * BigInt(b), BigInt(d), rounding), `${a} × ${b}`);
}

/** The value of `f()`, or null when it threw `MoneyError` (for boundaries whose answer to bad input is "none"). */
export function orNull<T>(f: () => T): T | null {
  try {
    return f();
  } catch (e) {
    if (e instanceof MoneyError) return null;
    throw e;
  }
}

// ---- Dollars -------------------------------------------------------------------------------------------------

/** A dollar string ("0.017325", up to 6 decimals exactly; more with `rounding`) in micros. */
export function parseDollars(text: string, rounding?: Rounding): Micros {
  return parseFixed(text, MICRO_DECIMALS, rounding === undefined ? {} : { rounding });
}

/** Micros as a dollar string with `places` decimals (default 4, our stored form), rounded as named. */
export function formatDollars(
  micros: Micros | bigint,
  places = PRICE_DECIMALS,
  rounding: Rounding = "half-up",
): string {
  return formatFixed(micros, MICRO_DECIMALS, places, rounding);
}

/** Our stored dollar string ("0.5600", at most 4 decimals, exactly) in units of 1e-4 $. */
export function parsePrice(s: string): number {
  return parseFixed(s, PRICE_DECIMALS);
}

/** Units of 1e-4 $ as our stored 4-decimal string ("0.5600"). */
export function formatPrice(units: number): string {
  return formatFixed(units, PRICE_DECIMALS);
}

/** A venue's non-negative dollar string (up to 6 decimals) in micros; null when it is not one. */
export function parseVenueDollars(s: string | null | undefined): Micros | null {
  return typeof s === "string" ? orNull(() => parseFixed(s, MICRO_DECIMALS, { signed: false })) : null;
}

/**
 * A venue's non-negative dollar string (up to 6 decimals) as our 4-decimal string, rounded as named (`half-up`
 * for prices, `ceil` for fees: never under-counted); null when it is not one.
 */
export function venueDollars(s: string | null | undefined, rounding: Rounding): string | null {
  if (typeof s !== "string") return null;
  return orNull(() =>
    formatFixed(parseFixed(s, PRICE_DECIMALS, { rounding, maxDecimals: 6, signed: false }), PRICE_DECIMALS),
  );
}

/** A money amount `qty × price` in micros: hundredths of a contract times a per-contract price in micros. */
export function notional(qty: Hundredths, price: Micros, rounding: Rounding = "half-up"): Micros {
  // Exact in doubles when the product is safe and divides (every 4-decimal price): no BigInt on the hot path.
  const p = qty * price;
  if (Number.isSafeInteger(p) && p % HUNDREDTHS_PER_CONTRACT === 0) return p / HUNDREDTHS_PER_CONTRACT + 0;
  return mulDiv(qty, price, HUNDREDTHS_PER_CONTRACT, rounding);
}

// ---- Quantities ------------------------------------------------------------------------------------------------

/**
 * A contract quantity in hundredths, exactly: a string ("2.50", "10") or a number (2.5) that is a multiple of
 * 0.01 (its nearest double). Anything else — 0.375, NaN, a string with three decimals — is a `MoneyError`, never
 * silently rounded.
 */
export function parseQuantity(x: string | number): Hundredths {
  if (typeof x === "string") return parseFixed(x, QTY_DECIMALS);
  if (!Number.isFinite(x)) throw new MoneyError(`not a quantity: ${x}`);
  const h = Math.round(x * HUNDREDTHS_PER_CONTRACT);
  if (!Number.isSafeInteger(h) || h / HUNDREDTHS_PER_CONTRACT !== x)
    throw new MoneyError(`not a multiple of 0.01: ${x}`);
  return h;
}

/**
 * A count that float arithmetic made from hundredths (a venue's running total, a sum or a difference of counts:
 * 0.1 + 0.2 is 0.30000000000000004) back in hundredths: the nearest, rounded half up. Not for a count read from
 * outside, which `parseQuantity` takes exactly or refuses. Not finite or past 2^53: `MoneyError`.
 */
export function nearestHundredths(x: number): Hundredths {
  const h = Math.round(x * HUNDREDTHS_PER_CONTRACT);
  if (!Number.isSafeInteger(h)) throw new MoneyError(`not a count: ${x}`);
  return h;
}

/** True when `x` is a number that is a multiple of 0.01 (what `parseQuantity` accepts). */
export function isHundredths(x: number): boolean {
  return orNull(() => parseQuantity(x)) !== null;
}

/** Hundredths as the number of contracts they are (the nearest double: 37 → 0.37). */
export function quantityNumber(h: Hundredths): number {
  return h / HUNDREDTHS_PER_CONTRACT;
}

/** Hundredths as a fixed-point count string with 2 decimals ("0.37", "10.00"), the form Kalshi sends. */
export function formatQuantity(h: Hundredths): string {
  return formatFixed(h, QTY_DECIMALS);
}

// ---- Percentages -----------------------------------------------------------------------------------------------

/** A percentage string ("5", "2.5") in percent units (1e-4 %). */
export function parsePct(text: string): PctUnits {
  return parseFixed(text, PCT_DECIMALS);
}

/** Percent units as "6.1234". */
export function formatPct(units: PctUnits | bigint): string {
  return formatFixed(units, PCT_DECIMALS);
}

/** `part / whole` in percent units, floored; null when `whole` is not positive. */
export function ratioPct(part: number, whole: number): bigint | null {
  if (whole <= 0) return null;
  return divRound(BigInt(part) * BigInt(FULL_PCT), BigInt(whole), "floor");
}

/** True when `part ≤ pct % of whole`, exactly (any scale, as long as `part` and `whole` share it). */
export function withinPct(part: number, pct: PctUnits, whole: number): boolean {
  return BigInt(part) * BigInt(FULL_PCT) <= BigInt(pct) * BigInt(whole);
}
