import { formatPrice, parsePrice } from "@paulp/kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { paperFill } from "../src/fill-model";

describe("paper fills", () => {
  const book = {
    bids: [{ price: "0.4000", size: "10" }],
    asks: [
      { price: "0.4400", size: "5" },
      { price: "0.4200", size: "2" },
    ],
  };
  it("walks the asks best first up to the limit", () => {
    expect(paperFill(book, "buy", 4, "0.4400", false)).toEqual({
      filled: 4,
      avgPrice: "0.4300",
      fee: "0.0000",
    });
  });
  it("fills a fractional quantity exactly across levels (hundredths, never a float sum)", () => {
    // 2 @ 0.42, then 1.37 of the 0.44 level: 3.37 contracts at (2 × 0.42 + 1.37 × 0.44) / 3.37 = 0.42813…
    expect(paperFill(book, "buy", 3.37, "0.4400", false)).toEqual({
      filled: 3.37,
      avgPrice: "0.4281",
      fee: "0.0000",
    });
    expect(
      paperFill({ bids: [], asks: [{ price: "0.4200", size: "10" }] }, "buy", 0.37, "0.4200", true),
    ).toEqual({
      filled: 0.37,
      avgPrice: "0.4200",
      fee: "0.0100",
    });
  });
  it("takes a fractional level's whole depth, cut to hundredths, and never more than the book shows", () => {
    const fractional = {
      bids: [],
      asks: [
        { price: "0.4200", size: "2.50" },
        { price: "0.4300", size: "1.239" },
      ],
    };
    // 2.50 at 0.42, then 1.23 of the 1.239 at 0.43 (cut, not rounded up to 1.24): 3.73 in all, not 3 as before.
    expect(paperFill(fractional, "buy", 10, "0.4300", false)).toMatchObject({ filled: 3.73 });
    expect(paperFill(fractional, "buy", 2.5, "0.4200", false)).toMatchObject({ filled: 2.5 });
    // A size that is not a decimal is no depth at all.
    expect(
      paperFill({ bids: [], asks: [{ price: "0.42", size: "lots" }] }, "buy", 1, "0.50", false).filled,
    ).toBe(0);
  });
  it("fills nothing when the limit does not cross", () => {
    expect(paperFill(book, "buy", 4, "0.4100", true).filled).toBe(0);
    expect(paperFill(book, "sell", 4, "0.4100", true).filled).toBe(0);
  });
  it("never fills more than asked or than the book holds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 100, max: 9_900 }), (q, limit) => {
        const f = paperFill(book, "buy", q, formatPrice(limit), true);
        expect(f.filled).toBeLessThanOrEqual(Math.min(q, 7));
        if (f.avgPrice) expect(parsePrice(f.avgPrice)).toBeLessThanOrEqual(limit);
      }),
    );
  });
});
