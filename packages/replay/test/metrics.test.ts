import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fraction, maxDrawdown, sampleCurve, tally } from "../src/metrics";

describe("maximum drawdown", () => {
  it("is the largest fall from any earlier point, as every pair of points says", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e12, max: 1e12 }), { maxLength: 60 }), (curve) => {
        // Oracle: every (earlier, later) pair, O(n²); the implementation keeps one running peak.
        let worst = 0;
        for (let i = 0; i < curve.length; i++)
          for (let j = i + 1; j < curve.length; j++) worst = Math.max(worst, curve[i]! - curve[j]!);
        expect(maxDrawdown(curve).amount).toBe(worst);
      }),
    );
  });

  it("states the fall as a fraction of its peak, cut to 1e-4", () => {
    // Peak 3.00 $, trough 2.00 $: 1/3 = 0.33333… → 3333.
    expect(maxDrawdown([1_000_000, 3_000_000, 2_000_000, 2_500_000])).toEqual({
      amount: 1_000_000,
      fractionUnits: 3333,
    });
    expect(maxDrawdown([])).toEqual({ amount: 0, fractionUnits: 0 });
    // A peak of one micro, then a loss of a million dollars: no safe integer fraction, and no throw (fast-check
    // found it: the property above generates such curves).
    expect(maxDrawdown([1, -1e12])).toEqual({ amount: 1e12 + 1, fractionUnits: Number.MAX_SAFE_INTEGER });
  });
});

describe("the sampled equity curve", () => {
  it("keeps the first point and the last of every bucket, in order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 80 }), (times) => {
        const points = [...times].sort((a, b) => a - b).map((atMs, i) => ({ atMs, i }));
        const kept = sampleCurve(points, 1_000);
        expect(kept[0]).toBe(points[0]);
        expect(kept.at(-1)).toBe(points.at(-1));
        // Every bucket that had points keeps exactly its last one (plus the very first point).
        const lastOfBucket = new Map<number, number>();
        for (const p of points) lastOfBucket.set(Math.floor(p.atMs / 1_000), p.i);
        const expected = new Set([0, ...lastOfBucket.values()]);
        expect(kept.map((p) => p.i)).toEqual([...expected].sort((a, b) => a - b));
      }),
    );
  });
});

describe("tallies and fractions", () => {
  it("counts by key and states shares to 4 decimals, cut", () => {
    expect(tally(["b", "a", "b"])).toEqual({ a: 1, b: 2 });
    expect(fraction(1, 3)).toBe("0.3333");
    expect(fraction(0, 0)).toBe("0.0000");
  });
});
