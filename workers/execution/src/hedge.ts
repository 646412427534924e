import { type HeldMarkAnswer, MARK_FUTURE_SKEW_MS, type OrderIntent, type Result } from "@paulp/contracts";
import {
  FULL_PCT,
  formatPrice,
  mulDiv,
  orNull,
  parseFixed,
  parsePct,
  parsePrice,
  parseQuantity,
} from "@paulp/kit";
import * as v from "valibot";

const Price = v.pipe(v.string(), v.regex(/^\d{1,8}(\.\d{1,4})?$/));

/**
 * The hedge map: prediction-market exposure → an IBKR instrument. Keyed by Kalshi ticker, or `category:<name>`.
 * `ratio` is hedge shares per contract filled; `direction` says whether buying YES is hedged by buying
 * ("same") or selling ("opposite") the instrument. The hedge's limit follows the instrument's current mark
 * (`slippagePct` through it); `buyLimit` / `sellLimit` are hard bounds on that price.
 */
export const HedgeEntry = v.object({
  conid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  ratio: v.pipe(v.string(), v.regex(/^\d{1,6}(\.\d{1,4})?$/)),
  direction: v.picklist(["same", "opposite"]),
  /** Never buy above this. */
  buyLimit: Price,
  /** Never sell below this. */
  sellLimit: Price,
  /**
   * How far through the mark the limit goes, in percent (default 0.5): a buy at mark × (1 + slippage), a sell at
   * mark × (1 − slippage). Under 5 %, well inside risk's price collar (10 % of the mark by default).
   */
  slippagePct: v.optional(v.pipe(v.string(), v.regex(/^[0-4](\.\d{1,4})?$/, "slippagePct must be under 5"))),
  /** The instrument's price increment (IBKR's contract rules `increment`; default 0.01, a US stock over $1). */
  tick: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,4}(\.\d{1,4})?$/),
      v.check((t) => orNull(() => parsePrice(t)) !== null && parsePrice(t) > 0, "tick must be positive"),
    ),
  ),
  /** The category risk files the instrument's exposure under (default: the `category:<name>` of its key). */
  category: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
});
export type HedgeEntry = v.InferOutput<typeof HedgeEntry>;
export const HedgeMap = v.record(v.string(), HedgeEntry);
export type HedgeMap = v.InferOutput<typeof HedgeMap>;

/** Slippage through the mark when the entry does not say. */
export const DEFAULT_HEDGE_SLIPPAGE_PCT = "0.5";
/** The price increment when the entry does not say (US equities over $1 quote in cents). */
export const DEFAULT_HEDGE_TICK = "0.01";

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

/** The map's entry for a fill on `market` (its own ticker first, then its category), or null when unmapped. */
export function hedgeEntryFor(map: HedgeMap, market: string, category: string | null): HedgeEntry | null {
  return map[market] ?? (category ? map[`category:${category}`] : undefined) ?? null;
}

/** Whole shares (IBKR) a fill of `filled` contracts (exact to 0.01) is hedged with: × the ratio, floored. */
export function hedgeShares(entry: HedgeEntry, filled: number): number {
  const ratio4 = orNull(() => parseFixed(entry.ratio, 4));
  const contracts = orNull(() => parseQuantity(filled));
  if (ratio4 === null || contracts === null) return 0;
  return mulDiv(contracts, ratio4, 1_000_000, "floor");
}

/** The hedge's side for a fill's side: the same, or the opposite, as the entry's direction says. */
export function hedgeSide(entry: HedgeEntry, fillSide: "buy" | "sell"): "buy" | "sell" {
  return entry.direction === "same" ? fillSide : fillSide === "buy" ? "sell" : "buy";
}

/** What to do about a fill's hedge: place `intent` (priced as `pricing` says), or place nothing and say why. */
export type HedgePlan =
  | { kind: "order"; intent: OrderIntent; pricing: string }
  | { kind: "not_placed"; conid: string; reason: string };

/**
 * The hedge for a fill on a prediction market, or null when it rounds to zero shares. Pure: the mark risk holds
 * for the instrument (as `RISK.getMark` answered, or its error) and the clock are passed in.
 *
 * Quantity: `floor(filled × ratio)` whole shares. `position` is the strategy's current position in the
 * instrument: the hedge's effect follows from it (open, increase, reduce, close), and a hedge that would cross
 * zero stops at flat (it never opens the other side in the same order, which risk would refuse).
 *
 * Price: from the instrument's mark, never a blind one. No mark, no price in it, or one older than risk's
 * freshness limit: nothing is placed (fail closed; the caller reports it). Otherwise a buy at
 * mark × (1 + slippage) rounded down to the tick, a sell at mark × (1 − slippage) rounded up to it (both toward
 * the mark: never further through it than the slippage), bounded by the entry's `buyLimit` / `sellLimit`. When
 * the bound keeps the price from reaching the mark (a buy below it, a sell above it) the order could not fill:
 * nothing is placed and the reason says so.
 */
export function planHedge(
  entry: HedgeEntry,
  fill: {
    side: "buy" | "sell";
    filled: number;
    /** The whole shares still owed, when an earlier attempt settled part (default: `hedgeShares`). */
    shares?: number;
    strategyId: string;
    evidenceHashes: string[];
  },
  clientOrderId: string,
  position: number,
  mark: Result<HeldMarkAnswer>,
  nowMs: number,
): HedgePlan | null {
  const conid = String(entry.conid);
  const wanted = fill.shares ?? hedgeShares(entry, fill.filled);
  if (!Number.isInteger(wanted) || wanted < 1) return null;
  const side = hedgeSide(entry, fill.side);
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

  const notPlaced = (reason: string): HedgePlan => ({
    kind: "not_placed",
    conid,
    reason: `hedge ${side} ${quantity} ibkr:${conid} not placed: ${reason}`,
  });
  if (!mark.ok) return notPlaced(`its mark could not be read (${mark.error.code}: ${mark.error.message})`);
  const held = mark.value.mark;
  if (held === null) return notPlaced("risk holds no mark for it");
  const markUnits = held.price === null ? null : orNull(() => parsePrice(held.price!));
  if (markUnits === null || markUnits <= 0) return notPlaced("its mark has no price");
  const observedMs = Date.parse(held.observedAt);
  if (!Number.isFinite(observedMs) || observedMs > nowMs + MARK_FUTURE_SKEW_MS)
    return notPlaced(`its mark's time ${held.observedAt} is not a past time`);
  const ageSeconds = Math.floor((nowMs - observedMs) / 1000);
  if (nowMs - observedMs > mark.value.maxMarkAgeSeconds * 1000)
    return notPlaced(`its mark is stale (age ${ageSeconds}s, limit ${mark.value.maxMarkAgeSeconds}s)`);

  const slippagePct = entry.slippagePct ?? DEFAULT_HEDGE_SLIPPAGE_PCT;
  const slippage = parsePct(slippagePct);
  const tick = parsePrice(entry.tick ?? DEFAULT_HEDGE_TICK);
  const buy = side === "buy";
  const bound = parsePrice(buy ? entry.buyLimit : entry.sellLimit);
  const boundName = buy ? "buyLimit" : "sellLimit";
  // Through the mark by the slippage, rounded toward the mark, then held to the bound, then onto the tick
  // toward the mark again (a bound off the tick never lets the price past it).
  const through = buy
    ? mulDiv(markUnits, FULL_PCT + slippage, FULL_PCT, "floor")
    : mulDiv(markUnits, FULL_PCT - slippage, FULL_PCT, "ceil");
  const bounded = buy ? Math.min(through, bound) : Math.max(through, bound);
  const price = mulDiv(bounded, 1, tick, buy ? "floor" : "ceil") * tick;
  const clamped = bounded !== through;
  const markText = formatPrice(markUnits);
  if (buy ? price < markUnits : price > markUnits)
    return notPlaced(
      `the mark ${markText} is ${buy ? "above" : "below"} what the map's ${boundName} ${entry[boundName]} lets a ${side} reach (unmarketable at the bound)`,
    );
  const limitPrice = formatPrice(price);
  return {
    kind: "order",
    intent: {
      strategyId: fill.strategyId,
      venue: "ibkr",
      market: conid,
      side,
      effect,
      quantity,
      limitPrice,
      clientOrderId,
      // The fill's evidence and the mark's (the IBKR snapshot the price follows).
      evidenceHashes: [...new Set([...fill.evidenceHashes, held.evidenceHash])].slice(0, 16),
    },
    pricing: `mark ${markText} (age ${Math.max(0, ageSeconds)}s) ${buy ? "+" : "−"} ${slippagePct} % → ${limitPrice}${clamped ? ` (held to ${boundName} ${entry[boundName]})` : ""}`,
  };
}
