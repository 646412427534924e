// The fill model: an immediate-or-cancel order walked against a recorded book. Execution's paper mode and the
// replay engine (#18) fill with this one function, so a replay fills exactly as paper trading did.
import type { BookLevel } from "@paulp/contracts";
import {
  formatDollars,
  formatPrice,
  kalshiTakerFee,
  orNull,
  PRICE_DECIMALS,
  parseFixed,
  parsePrice,
  parseQuantity,
  quantityNumber,
  rescale,
} from "@paulp/kit";

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
