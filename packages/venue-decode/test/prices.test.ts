import { formatPrice } from "@paulp/kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { markFrom, normPrice, priceUnits, probabilityFromString } from "../src/prices";

// The decimal fast paths ("d.dddd" without a regex) against the general path they short-cut.
function toUnitsGeneral(s: string): number | null {
  const m = /^(\d{1,9})(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) return null;
  return Math.round((Number(m[1]) * 1_000_000 + Number((m[2] ?? "").padEnd(6, "0"))) / 100);
}

describe("decimal fast paths", () => {
  it("priceUnits and normPrice agree with the general path", () => {
    const s = fc.oneof(
      fc.stringMatching(/^\d\.\d{4}$/),
      fc.stringMatching(/^\d{1,3}(\.\d{0,7})?$/),
      fc.string({ maxLength: 7 }),
      fc.constantFrom("0.5600", "9.9999", "٠.٥٦٠٠", "0,5600", "0.560a", ":.0000", "/.0000", "10.000"),
    );
    fc.assert(
      fc.property(s, (x) => {
        const u = toUnitsGeneral(x);
        expect(priceUnits(x)).toBe(u);
        expect(normPrice(x)).toBe(x === "" || u === null ? null : formatPrice(u));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("marks are prices risk can value a position at", () => {
  it("markFrom answers only (0, 1]; probabilityFromString only [0, 1]", () => {
    expect(markFrom(null, null, "0.4200")).toBe("0.4200");
    expect(markFrom("0.4000", "0.5000", null)).toBe("0.4500");
    expect(markFrom(null, null, "0")).toBeNull();
    expect(markFrom(null, null, "7")).toBeNull();
    expect(markFrom(null, null, "1.0001")).toBeNull();
    expect(markFrom(null, null, "1")).toBe("1.0000");
    expect(probabilityFromString("7")).toBeNull();
    expect(probabilityFromString("0.35")).toBe("0.3500");
    expect(probabilityFromString("0")).toBe("0.0000");
  });
});
