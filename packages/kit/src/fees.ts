// Venue fee schedules in fixed-point dollars (1e-4 dollars, "bp"), shared by risk (worst case before an
// order) and execution (what a paper fill is charged), so the two can never disagree.

/** Kalshi's taker fee per order, rounded up to the cent: ceil(0.07 × C × P × (1 − P)), in bp. */
export function kalshiTakerFeeBp(count: number, priceBp: number): number {
  // In units of 1e-8 dollars² to stay integral: 7/100 × C × P × (10000 − P) / 1e4 bp.
  const raw = 7 * count * priceBp * (10_000 - priceBp);
  const cents = Math.ceil(raw / (100 * 10_000 * 100));
  return cents * 100;
}

/**
 * IBKR Pro fixed pricing for US stocks, in bp: USD 0.005 a share, at least USD 1.00 an order, at most 1 % of the
 * trade value. Regulatory fees on sales (SEC, FINRA TAF) are a few cents on these sizes and are not included.
 */
export function ibkrFixedCommissionBp(shares: number, priceBp: number): number {
  const perShare = shares * 50;
  const capped = Math.ceil((shares * priceBp) / 100);
  return Math.min(Math.max(perShare, 10_000), capped);
}

/** The most an order can cost in fees if it fills in full at its limit price (Kalshi taker, IBKR fixed). */
export function worstCaseFeeBp(venue: string, quantity: number, priceBp: number): number {
  if (venue === "kalshi") return kalshiTakerFeeBp(quantity, priceBp);
  if (venue === "ibkr") return ibkrFixedCommissionBp(quantity, priceBp);
  return 0; // Polymarket is read, never traded.
}
