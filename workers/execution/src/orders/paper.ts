import type { BookLevel } from "@paulp/contracts";
import {
  formatDollars,
  formatPrice,
  kalshiTakerFee,
  PRICE_DECIMALS,
  parsePrice,
  parseQuantity,
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
  const levels = (side === "buy" ? book.asks : book.bids)
    .map((l) => ({ price: parsePrice(l.price), size: Math.floor(Number(l.size)) }))
    .filter((l) => Number.isFinite(l.size) && l.size > 0)
    .sort((a, b) => (side === "buy" ? a.price - b.price : b.price - a.price));
  let filled = 0;
  let notional = 0;
  for (const l of levels) {
    if (filled >= quantity) break;
    if (side === "buy" ? l.price > limit : l.price < limit) break;
    const take = Math.min(l.size, quantity - filled);
    filled += take;
    notional += take * l.price;
  }
  if (filled === 0) return { filled: 0, avgPrice: null, fee: "0.0000" };
  const avg = Math.round(notional / filled);
  const fee = chargeKalshiFee
    ? kalshiTakerFee(parseQuantity(filled), rescale(avg, PRICE_DECIMALS, 6, "trunc"))
    : 0;
  return { filled, avgPrice: formatPrice(avg), fee: formatDollars(fee, 4, "ceil") };
}
