// Venue fee schedules on the money module's units (quantities in hundredths, prices and fees in micros), shared
// by risk (worst case before an order) and execution (what a paper fill is charged), so the two never disagree.
import { divRound, type Hundredths, type Micros } from "./money";

/** Kalshi's taker fee per order, rounded up to the cent: ceil(0.07 × C × P × (1 − P)), C exact to 0.01. */
export function kalshiTakerFee(qty: Hundredths, price: Micros): Micros {
  // 7/100 × (qty/100) × (price/1e6) × ((1e6 − price)/1e6) dollars = 7·qty·price·(1e6 − price) / 1e14 cents.
  const raw = 7n * BigInt(qty) * BigInt(price) * BigInt(1_000_000 - price);
  return Number(divRound(raw, 10n ** 14n, "ceil")) * 10_000;
}

/**
 * IBKR Pro fixed pricing for US stocks: USD 0.005 a share, at least USD 1.00 an order, at most 1 % of the trade
 * value (rounded up to 1e-4 $). Regulatory fees on sales (SEC, FINRA TAF) are a few cents on these sizes and are
 * not included.
 */
export function ibkrFixedCommission(shares: Hundredths, price: Micros): Micros {
  const perShare = shares * 50; // $0.005 = 5,000 micros a share = 50 a hundredth
  // 1 % of shares/100 × price micros, in whole 1e-4 $.
  const capped = Number(divRound(BigInt(shares) * BigInt(price), 1_000_000n, "ceil")) * 100;
  return Math.min(Math.max(perShare, 1_000_000), capped);
}

/** The most an order can cost in fees if it fills in full at its limit price (Kalshi taker, IBKR fixed). */
export function worstCaseFee(venue: string, qty: Hundredths, price: Micros): Micros {
  if (venue === "kalshi") return kalshiTakerFee(qty, price);
  if (venue === "ibkr") return ibkrFixedCommission(qty, price);
  return 0; // Polymarket is read, never traded.
}
