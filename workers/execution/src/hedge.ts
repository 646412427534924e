import type { OrderIntent } from "@paulp/contracts";
import { mulDiv, orNull, parseFixed, parseQuantity } from "@paulp/kit";
import * as v from "valibot";

/**
 * The hedge map: prediction-market exposure → an IBKR instrument. Keyed by Kalshi ticker, or `category:<name>`.
 * `ratio` is hedge shares per contract filled; `direction` says whether buying YES is hedged by buying
 * ("same") or selling ("opposite") the instrument; the limits bound the hedge order's price.
 */
export const HedgeEntry = v.object({
  conid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  ratio: v.pipe(v.string(), v.regex(/^\d{1,6}(\.\d{1,4})?$/)),
  direction: v.picklist(["same", "opposite"]),
  buyLimit: v.pipe(v.string(), v.regex(/^\d{1,8}(\.\d{1,4})?$/)),
  sellLimit: v.pipe(v.string(), v.regex(/^\d{1,8}(\.\d{1,4})?$/)),
  /** The category risk files the instrument's exposure under (default: the `category:<name>` of its key). */
  category: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
});
export const HedgeMap = v.record(v.string(), HedgeEntry);
export type HedgeMap = v.InferOutput<typeof HedgeMap>;

/** Parse HEDGE_MAP; a malformed map is an empty one (no hedges) and an error the caller reports. */
export function parseHedgeMap(raw: string | undefined): { map: HedgeMap; error: string | null } {
  if (!raw) return { map: {}, error: null };
  try {
    const parsed = v.safeParse(HedgeMap, JSON.parse(raw));
    return parsed.success
      ? { map: parsed.output, error: null }
      : { map: {}, error: parsed.issues[0]?.message ?? "invalid" };
  } catch {
    return { map: {}, error: "HEDGE_MAP is not JSON" };
  }
}

/**
 * The hedge for a fill on a prediction market, or null when unmapped or rounding to zero shares. Pure.
 * `position` is the strategy's current position in the hedge instrument: the hedge's effect follows from it
 * (open, increase, reduce, close), and a hedge that would cross zero stops at flat (it never opens the other
 * side in the same order, which risk would refuse as a mismatched effect).
 */
export function hedgeIntentFor(
  map: HedgeMap,
  fill: {
    market: string;
    category: string | null;
    side: "buy" | "sell";
    filled: number;
    strategyId: string;
    evidenceHashes: string[];
  },
  clientOrderId: string,
  position = 0,
): OrderIntent | null {
  const entry = map[fill.market] ?? (fill.category ? map[`category:${fill.category}`] : undefined);
  if (!entry) return null;
  // Whole shares (IBKR): the ratio × the filled contracts (exact to 0.01), floored.
  const ratio4 = orNull(() => parseFixed(entry.ratio, 4));
  const filled = orNull(() => parseQuantity(fill.filled));
  if (ratio4 === null || filled === null) return null;
  const wanted = mulDiv(filled, ratio4, 1_000_000, "floor");
  if (wanted < 1) return null;
  const side = entry.direction === "same" ? fill.side : fill.side === "buy" ? "sell" : "buy";
  const sign = side === "buy" ? 1 : -1;
  let effect: OrderIntent["effect"];
  let quantity = wanted;
  if (position === 0) effect = "open";
  else if (Math.sign(position) === sign) effect = "increase";
  else if (wanted < Math.abs(position)) effect = "reduce";
  else {
    effect = "close";
    quantity = Math.abs(position);
  }
  return {
    strategyId: fill.strategyId,
    venue: "ibkr",
    market: String(entry.conid),
    side,
    effect,
    quantity,
    limitPrice: side === "buy" ? entry.buyLimit : entry.sellLimit,
    clientOrderId,
    evidenceHashes: fill.evidenceHashes,
  };
}
