import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ibkrFixedCommissionBp, kalshiTakerFeeBp, worstCaseFeeBp } from "../src/fees";

describe("venue fees (bp = 1e-4 dollars)", () => {
  it("Kalshi taker: ceil(0.07 × C × P × (1 − P)) to the cent", () => {
    expect(kalshiTakerFeeBp(10, 5_000)).toBe(1_800); // 0.175 → $0.18
    expect(kalshiTakerFeeBp(400, 5_000)).toBe(70_000); // exactly $7.00
    expect(kalshiTakerFeeBp(401, 5_000)).toBe(70_200); // 7.0175 → $7.02
    expect(kalshiTakerFeeBp(1, 100)).toBe(100); // 0.000693 → $0.01: never free
    expect(kalshiTakerFeeBp(0, 5_000)).toBe(0);
  });

  it("IBKR fixed: $0.005 a share, at least $1.00, at most 1 % of the trade value", () => {
    expect(ibkrFixedCommissionBp(100, 1_015_000)).toBe(10_000); // $0.50 → the $1.00 minimum
    expect(ibkrFixedCommissionBp(10_000, 1_000_000)).toBe(500_000); // $50.00
    expect(ibkrFixedCommissionBp(1, 500_000)).toBe(5_000); // 1 % of $50 = $0.50 caps the minimum
  });

  it("the worst case is never negative, grows with size, and is zero only where nothing is traded", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("kalshi", "ibkr"),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 100, max: 9_900 }),
        (venue, qty, price) => {
          const fee = worstCaseFeeBp(venue, qty, price);
          expect(fee).toBeGreaterThan(0);
          expect(worstCaseFeeBp(venue, qty + 1, price)).toBeGreaterThanOrEqual(fee);
        },
      ),
    );
    expect(worstCaseFeeBp("polymarket", 100, 5_000)).toBe(0);
  });
});
