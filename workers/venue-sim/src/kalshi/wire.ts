// Kalshi's wire units and error shapes as the simulator writes them: dollars as 4-decimal strings, counts as
// 2-decimal strings (kept in hundredths), fees to 6 decimals.
// Kalshi's order_errors page: rejections are `{ error: { code, message } }`; an unparsable body is a 400 with
// `code`/`message` at the top level.
import {
  formatDollars,
  formatPrice,
  formatQuantity,
  mulDiv,
  PRICE_DECIMALS,
  parseFixed,
  QTY_DECIMALS,
} from "@paulp/kit";

export const err = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });
export const badBody = (message: string) => Response.json({ code: "bad_request", message }, { status: 400 });

/** Basis points (1e-4 dollars) of a dollar decimal string (digits past the fourth cut). */
export const bp = (s: string): number => parseFixed(s, PRICE_DECIMALS, { rounding: "trunc" });
/** Basis points as the spec's 4-decimal dollar string. */
export const dollars = (b: number): string => formatPrice(b);
/** Hundredths of a contract as the spec's 2-decimal count ("2.50"). */
export const fp = (h: number): string => formatQuantity(h);
/** A fixed-point count in hundredths (half-up past the second decimal). */
export const hundredths = (s: string): number => parseFixed(s, QTY_DECIMALS, { rounding: "half-up" });
/** A total in (basis points × hundredths) = micros·contracts spread over `h` hundredths: dollars per contract, 6 decimals. */
export const perContract = (totalBpH: number, h: number): string =>
  formatDollars(mulDiv(totalBpH, 100, Math.max(1, h), "half-up"), 6);
/** A total in (basis points × hundredths), i.e. micros, as dollars to 6 decimals. */
export const totalDollars = (bpH: number): string => formatDollars(bpH, 6);
