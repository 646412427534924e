import type { BookLevel, OrderBookSnapshot, OrderIntent, OrderState, Result } from "@paulp/contracts";
import {
  formatDollars,
  formatPrice,
  kalshiTakerFee,
  orNull,
  PRICE_DECIMALS,
  parseDollars,
  parseFixed,
  parsePrice,
  parseQuantity,
  quantityNumber,
  rescale,
  worstCaseFee,
} from "@paulp/kit";
import { stateForFills } from "./state";

/** A simulated immediate-or-cancel fill against a stored book: what crosses the limit fills, the rest is cancelled. */
export interface PaperFill {
  filled: number;
  avgPrice: string | null;
  fee: string;
}

/** Walk asks (buy) or bids (sell) best first while they cross `limitPrice`. Pure: the book is passed in. */
export function paperFill(
  book: { bids: BookLevel[]; asks: BookLevel[] },
  side: "buy" | "sell",
  quantity: number,
  limitPrice: string,
  chargeKalshiFee: boolean,
): PaperFill {
  const limit = parsePrice(limitPrice);
  // In hundredths of a contract (a manual Kalshi order may ask for 0.37): sums stay exact.
  const wanted = parseQuantity(quantity);
  const levels = (side === "buy" ? book.asks : book.bids)
    // A level's size in hundredths, cut (never rounded up) to what a contract order can take: a book may show
    // fractional sizes ("2.50" contracts, "123.456" shares), and no fill goes beyond the depth shown.
    .map((l) => ({ price: parsePrice(l.price), size: levelSize(l.size) }))
    .filter((l): l is { price: number; size: number } => l.size !== null && l.size > 0)
    .sort((a, b) => (side === "buy" ? a.price - b.price : b.price - a.price));
  let filledH = 0;
  let notional = 0;
  for (const l of levels) {
    if (filledH >= wanted) break;
    if (side === "buy" ? l.price > limit : l.price < limit) break;
    const take = Math.min(l.size, wanted - filledH);
    filledH += take;
    notional += take * l.price;
  }
  if (filledH === 0) return { filled: 0, avgPrice: null, fee: "0.0000" };
  const avg = Math.round(notional / filledH);
  const fee = chargeKalshiFee ? kalshiTakerFee(filledH, rescale(avg, PRICE_DECIMALS, 6, "trunc")) : 0;
  const filled = quantityNumber(filledH);
  return { filled, avgPrice: formatPrice(avg), fee: formatDollars(fee, 4, "ceil") };
}

/** A book level's size in hundredths of a contract, cut toward zero; null when it is not a plain decimal. */
function levelSize(size: string): number | null {
  return orNull(() => parseFixed(size, 2, { rounding: "trunc", maxDecimals: 18, signed: false }));
}

/** A paper order's outcome, decided before anything is recorded. */
export interface PaperPlan {
  state: OrderState;
  reason: string;
  filled: number;
  avgPrice: string | null;
  fee: string;
}

/**
 * The paper outcome of an intent against the book read beforehand (pure: nothing is written). IOC: the
 * crossed part fills, the rest is cancelled.
 */
export function planPaper(intent: OrderIntent, book: Result<OrderBookSnapshot> | null): PaperPlan {
  if (intent.venue === "ibkr") {
    // No ingested IBKR book: paper hedges fill at their limit (documented approximation), charged the
    // commission schedule a live fill would pay, never nothing.
    return {
      state: "filled",
      reason: "paper fill at limit (no IBKR book)",
      filled: intent.quantity,
      avgPrice: intent.limitPrice,
      fee: formatDollars(
        worstCaseFee("ibkr", parseQuantity(intent.quantity), parseDollars(intent.limitPrice)),
        4,
        "ceil",
      ),
    };
  }
  if (!book?.ok) {
    return {
      state: "rejected",
      reason: `paper: no book: ${book ? book.error.message : "not fetched"}`,
      filled: 0,
      avgPrice: null,
      fee: "0.0000",
    };
  }
  const f = paperFill(book.value, intent.side, intent.quantity, intent.limitPrice, intent.venue === "kalshi");
  return {
    state: stateForFills(intent.quantity, f.filled, false),
    reason:
      f.filled < intent.quantity
        ? `paper IOC: ${f.filled}/${intent.quantity} crossed, rest cancelled (book ${book.value.evidenceHash})`
        : `paper fill (book ${book.value.evidenceHash})`,
    filled: f.filled,
    avgPrice: f.avgPrice,
    fee: f.fee,
  };
}
