import { formatPrice } from "@paulp/kit";
import { priceUnits } from "@paulp/venue-decode";
import * as v from "valibot";

/**
 * IBKR's `GET /iserver/marketdata/snapshot` answer: an array of objects. Only fields its schema names are read,
 * each optional: `conid` (integer), `31` last, `84` bid, `86` ask (strings). A field of another type is no price.
 */
export const IbkrSnapshot = v.array(
  v.object({
    conid: v.optional(v.number()),
    "31": v.optional(v.unknown()),
    "84": v.optional(v.unknown()),
    "86": v.optional(v.unknown()),
  }),
);
/** A parsed snapshot answer. */
export type IbkrSnapshot = v.InferOutput<typeof IbkrSnapshot>;

/** A decimal price string in units of 1e-4 dollars, or null (a prefix, a sign, a comma, zero: no price). */
function snapshotPrice(x: unknown): number | null {
  if (typeof x !== "string") return null;
  const u = priceUnits(x.trim());
  return u === null || u <= 0 ? null : u;
}

/**
 * One instrument's mark from a snapshot row: the bid/ask midpoint when both are there and not crossed, else the
 * last price. A last price with IBKR's `C` (previous day's close) or `H` (halted) prefix is not a current price,
 * so it is no mark. The first snapshot of a conid only starts its market data and carries no price yet.
 */
export function ibkrMark(row: IbkrSnapshot[number]): string | null {
  const bid = snapshotPrice(row["84"]);
  const ask = snapshotPrice(row["86"]);
  if (bid !== null && ask !== null && ask >= bid) return formatPrice(Math.round((bid + ask) / 2));
  const last = snapshotPrice(row["31"]);
  return last === null ? null : formatPrice(last);
}
