import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matchOrder } from "../src/kalshi/trading";
import { perContract, totalDollars } from "../src/kalshi/wire";

// The simulator's matching and fee, against an oracle written from Kalshi's fee schedule in exact integers:
// ceil(0.07 × C × P × (1 − P)) to the cent, C contracts at P dollars = ceil(7·C_h·P_bp·(10⁴ − P_bp) / 10¹⁰) cents.
const feeCentsOracle = (hundredths: number, priceBp: number) => {
  const raw = 7n * BigInt(hundredths) * BigInt(priceBp) * BigInt(10_000 - priceBp);
  return Number((raw + 10n ** 10n - 1n) / 10n ** 10n);
};

describe("the Kalshi simulator's matching", () => {
  it("charges $1.75 for 100 contracts at 0.50, not the float formula's $1.76", () => {
    const m = matchOrder([[5_000, 100_00]], "buy", 5_000, 100_00, 0);
    expect(m).toMatchObject({ filled: 100_00, avgBp: 5_000 });
    expect(totalDollars(m.feeBpH)).toBe("1.750000");
    expect(perContract(m.feeBpH, m.filled)).toBe("0.017500");
  });

  it("charges the schedule's fee, to the cent, for any count at one price", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 100, max: 9_900 }), (h, p) => {
        const m = matchOrder([[p, 1_000_000]], "buy", p, h, 0);
        expect(m.filled).toBe(h);
        expect(m.feeBpH).toBe(feeCentsOracle(h, p) * 10_000);
      }),
    );
  });

  it("walks levels best first within the limit and the cap; fill-or-kill fills all or nothing", () => {
    const asks = [
      [4_200, 2_00],
      [4_400, 5_00],
      [4_600, 9_00],
    ];
    expect(matchOrder(asks, "buy", 4_400, 10_00, 0)).toMatchObject({
      filled: 7_00,
      notional: 2_00 * 4_200 + 5_00 * 4_400,
    });
    expect(matchOrder(asks, "buy", 4_400, 3_00, 0)).toMatchObject({ filled: 3_00 });
    expect(matchOrder(asks, "buy", 4_400, 10_00, 10_00)).toMatchObject({ filled: 0, feeBpH: 0 });
    expect(matchOrder(asks, "buy", 4_100, 10_00, 0)).toMatchObject({ filled: 0, avgBp: 0 });
    const bids = [
      [4_000, 1_00],
      [3_900, 1_00],
    ];
    expect(matchOrder(bids, "sell", 3_900, 5_00, 0)).toMatchObject({ filled: 2_00, avgBp: 3_950 });
  });
});
