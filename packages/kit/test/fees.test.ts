import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ibkrFixedCommission, kalshiTakerFee, worstCaseFee } from "../src/fees";

// Quantities in hundredths, prices and fees in micros.
describe("venue fees", () => {
  it("Kalshi taker: ceil(0.07 × C × P × (1 − P)) to the cent", () => {
    expect(kalshiTakerFee(1_000, 500_000)).toBe(180_000); // 0.175 → $0.18
    expect(kalshiTakerFee(40_000, 500_000)).toBe(7_000_000); // exactly $7.00
    expect(kalshiTakerFee(40_100, 500_000)).toBe(7_020_000); // 7.0175 → $7.02
    expect(kalshiTakerFee(100, 10_000)).toBe(10_000); // 0.000693 → $0.01: never free
    expect(kalshiTakerFee(0, 500_000)).toBe(0);
    expect(kalshiTakerFee(37, 560_000)).toBe(10_000); // 0.37 contracts: 0.00638 → $0.01
  });

  it("Kalshi taker agrees with the formula computed on decimal strings' exact rationals", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 99 }), (h, cents) => {
        // Oracle over integers of 1e-2 contracts and 1e-2 dollars: 0.07 × h/100 × c/100 × (100 − c)/100 dollars
        // = 7 × h × c × (100 − c) / 10^6 cents.
        const raw = 7n * BigInt(h) * BigInt(cents) * BigInt(100 - cents);
        const ceilCents = (raw + 10n ** 6n - 1n) / 10n ** 6n;
        expect(BigInt(kalshiTakerFee(h, cents * 10_000))).toBe(ceilCents * 10_000n);
      }),
    );
  });

  it("IBKR fixed: $0.005 a share, at least $1.00, at most 1 % of the trade value", () => {
    expect(ibkrFixedCommission(10_000, 101_500_000)).toBe(1_000_000); // $0.50 → the $1.00 minimum
    expect(ibkrFixedCommission(1_000_000, 100_000_000)).toBe(50_000_000); // $50.00
    expect(ibkrFixedCommission(100, 50_000_000)).toBe(500_000); // 1 % of $50 = $0.50 caps the minimum
  });

  it("the worst case is never negative, grows with size, and is zero only where nothing is traded", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("kalshi", "ibkr"),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 99 }),
        (venue, n, cents) => {
          // IBKR trades whole shares; Kalshi hundredths of a contract.
          const [qty, step] = venue === "ibkr" ? [n * 100, 100] : [n, 1];
          const fee = worstCaseFee(venue, qty, cents * 10_000);
          expect(fee).toBeGreaterThan(0);
          expect(worstCaseFee(venue, qty + step, cents * 10_000)).toBeGreaterThanOrEqual(fee);
          expect(fee % 100).toBe(0); // whole 1e-4 $: storable as our 4-decimal strings
        },
      ),
    );
    expect(worstCaseFee("polymarket", 10_000, 500_000)).toBe(0);
  });
});
