import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  divRound,
  formatDollars,
  formatFixed,
  formatQuantity,
  isHundredths,
  MoneyError,
  mulDiv,
  nearestHundredths,
  notional,
  orNull,
  parseDollars,
  parseFixed,
  parsePct,
  parseQuantity,
  quantityNumber,
  ratioPct,
  rescale,
  withinPct,
} from "../src/money";

// The oracles below are not the implementation: decimal strings built digit by digit, and BigInt arithmetic on
// numerators and denominators (floor division written out with signs), so a bug in the module cannot agree with
// itself.

/** A decimal string with `w` whole and `f` fraction digits, and the exact integer it spells times 10^f. */
const decimal = (maxWhole: number, maxFrac: number) =>
  fc
    .tuple(
      fc.boolean(),
      fc.stringMatching(new RegExp(`^[0-9]{1,${maxWhole}}$`)),
      fc.stringMatching(new RegExp(`^[0-9]{0,${maxFrac}}$`)),
    )
    .map(([neg, w, f]) => ({
      text: `${neg ? "-" : ""}${w}${f ? `.${f}` : ""}`,
      scaled: BigInt(`${w}${f}`) * (neg ? -1n : 1n),
      frac: f.length,
    }));

/** floor(n/d) for d > 0, written from the definition (largest q with q·d ≤ n). */
function floorDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  return q * d > n ? q - 1n : q;
}

describe("parseFixed / formatFixed", () => {
  it("parses exactly what the string spells", () => {
    fc.assert(
      fc.property(decimal(9, 6), ({ text, scaled, frac }) => {
        expect(BigInt(parseFixed(text, 6))).toBe(scaled * 10n ** BigInt(6 - frac));
      }),
    );
  });

  it("the 4-decimal fast path answers as the general path does, odd characters included", () => {
    const chars = fc.constantFrom(..."0123456789./:-a٠".split(""));
    fc.assert(
      fc.property(fc.array(chars, { minLength: 6, maxLength: 6 }), (cs) => {
        const text = cs.join("");
        const general = /^\d\.\d{4}$/.test(text) ? Number(text.replace(".", "")) : null;
        if (general !== null) expect(parseFixed(text, 4)).toBe(general);
        else if (!/^-?\d+(\.\d{1,4})?$/.test(text)) expect(() => parseFixed(text, 4)).toThrow(MoneyError);
      }),
      { numRuns: 2_000 },
    );
  });

  it("round-trips: format(parse(s)) is s padded to the scale, and parse(format(u)) is u", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
        fc.integer({ min: 0, max: 8 }),
        (u, d) => {
          expect(parseFixed(formatFixed(u, d), d)).toBe(u);
        },
      ),
    );
    expect(formatFixed(parseFixed("0.56", 4), 4)).toBe("0.5600");
    expect(formatFixed(-5, 4)).toBe("-0.0005");
    expect(formatFixed(0, 2)).toBe("0.00");
    expect(formatFixed(12, 0)).toBe("12");
  });

  it("rounds dropped digits as named, against floor/ceil oracles", () => {
    fc.assert(
      fc.property(decimal(6, 9), ({ text, scaled, frac }) => {
        const keep = 4;
        const d = 10n ** BigInt(Math.max(0, frac - keep));
        const n = scaled * 10n ** BigInt(Math.max(0, keep - frac));
        const floor = floorDiv(n, d);
        const ceil = -floorDiv(-n, d);
        const halfUp = floorDiv(2n * n + d, 2n * d);
        expect(BigInt(parseFixed(text, keep, { rounding: "floor" }))).toBe(floor);
        expect(BigInt(parseFixed(text, keep, { rounding: "ceil" }))).toBe(ceil);
        expect(BigInt(parseFixed(text, keep, { rounding: "half-up" }))).toBe(halfUp);
        expect(BigInt(parseFixed(text, keep, { rounding: "trunc" }))).toBe(n < 0n ? ceil : floor);
      }),
    );
    expect(parseFixed("0.00005", 4, { rounding: "half-up" })).toBe(1);
    expect(parseFixed("-0.00005", 4, { rounding: "half-up" })).toBe(0); // ties toward +∞, as Math.round
    expect(parseFixed("0.000001", 4, { rounding: "ceil" })).toBe(1);
  });

  it("rounding is monotonic: a ≤ b ⇒ round(a) ≤ round(b), for every mode", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
        fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        fc.constantFrom("half-up", "ceil", "floor", "trunc" as const),
        (a, b, d, mode) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          expect(divRound(lo, d, mode) <= divRound(hi, d, mode)).toBe(true);
        },
      ),
    );
  });

  it("one failure mode: MoneyError for anything it cannot hold exactly", () => {
    for (const bad of ["", "1.", ".5", "1e3", "0x10", " 1", "1,5", "--1", "NaN"])
      expect(() => parseFixed(bad, 4)).toThrow(MoneyError);
    expect(() => parseFixed("0.12345", 4)).toThrow(MoneyError); // 5 decimals without a rounding
    expect(() => parseFixed("0.1234567", 4, { rounding: "half-up", maxDecimals: 6 })).toThrow(MoneyError);
    expect(() => parseFixed("-1", 4, { signed: false })).toThrow(MoneyError);
    expect(() => parseFixed("999999999999999999", 4)).toThrow(MoneyError); // past 2^53
    expect(() => formatFixed(0.5, 4)).toThrow(MoneyError);
    expect(() => rescale(2 ** 50, 0, 6, "trunc")).toThrow(MoneyError);
    expect(orNull(() => parseFixed("x", 4))).toBeNull();
    expect(() =>
      orNull(() => {
        throw new TypeError("not ours");
      }),
    ).toThrow(TypeError);
  });
});

describe("dollars, quantities, percentages", () => {
  it("dollars: micros exact to 6 decimals, formatted back to 4 with a named rounding", () => {
    expect(parseDollars("0.017325")).toBe(17_325);
    expect(formatDollars(17_325)).toBe("0.0173");
    expect(formatDollars(17_350)).toBe("0.0174"); // half up
    expect(formatDollars(17_301, 4, "ceil")).toBe("0.0174"); // fees never under-counted
    expect(formatDollars(100_000_000, 2)).toBe("100.00");
    expect(() => parseDollars("0.0173251")).toThrow(MoneyError);
  });

  it("quantities: hundredths exactly, from strings and numbers; never a silent truncation", () => {
    expect(parseQuantity("0.37")).toBe(37);
    expect(parseQuantity(0.37)).toBe(37);
    expect(parseQuantity("10.00")).toBe(1_000);
    expect(parseQuantity(-2.5)).toBe(-250);
    expect(formatQuantity(37)).toBe("0.37");
    expect(quantityNumber(37)).toBe(0.37);
    for (const bad of [0.375, Number.NaN, Number.POSITIVE_INFINITY, 1e300]) {
      expect(() => parseQuantity(bad)).toThrow(MoneyError);
      expect(isHundredths(bad)).toBe(false);
    }
    expect(() => parseQuantity("0.375")).toThrow(MoneyError);
  });

  it("counts made by float arithmetic come back to the nearest hundredth; what is not a count is refused", () => {
    expect(nearestHundredths(0.1 + 0.2)).toBe(30);
    expect(nearestHundredths(0.3 - 0.1)).toBe(20);
    expect(nearestHundredths(-2.5)).toBe(-250);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 1e300])
      expect(() => nearestHundredths(bad)).toThrow(MoneyError);
    // Oracle: a sum of hundredths taken as floats, against the integer sum.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(10 ** 9), max: 10 ** 9 }), { maxLength: 20 }), (hs) => {
        const floats = hs.reduce((sum, h) => sum + quantityNumber(h), 0);
        expect(nearestHundredths(floats)).toBe(hs.reduce((sum, h) => sum + h, 0));
      }),
    );
  });

  it("quantities round-trip through numbers and strings for every hundredth", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(10 ** 12), max: 10 ** 12 }), (h) => {
        expect(parseQuantity(quantityNumber(h))).toBe(h);
        expect(parseQuantity(formatQuantity(h))).toBe(h);
        // The number is the double nearest the decimal the string spells.
        expect(quantityNumber(h)).toBe(Number(formatQuantity(h)));
      }),
    );
  });

  it("sums of fractional quantities are exact in hundredths (floats are not)", () => {
    const fills = [0.1, 0.2];
    expect(fills.reduce((a, b) => a + b, 0)).not.toBe(0.3); // the float sum drifts
    expect(fills.map(parseQuantity).reduce((a, b) => a + b, 0)).toBe(30);
  });

  it("notional: hundredths × micros is exact for 4-decimal prices (oracle: the decimal product)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 8 }), fc.integer({ min: 0, max: 10 ** 6 }), (h, bp) => {
        const price = bp * 100; // a 4-decimal price in micros
        // (h/100) × (bp/1e4) dollars = h·bp / 1e6 dollars = h·bp micros.
        expect(notional(h, price)).toBe(h * bp);
      }),
    );
    expect(notional(37, 561_200)).toBe(207_644); // 0.37 × $0.5612 = $0.207644
    expect(mulDiv(1, 1, 3, "half-up")).toBe(0);
    expect(mulDiv(2, 1, 3, "half-up")).toBe(1);
  });

  it("percentages: exact limit comparison and floored ratios", () => {
    expect(parsePct("2.5")).toBe(25_000);
    expect(withinPct(5, parsePct("5"), 100)).toBe(true);
    expect(withinPct(6, parsePct("5"), 100)).toBe(false);
    expect(ratioPct(1, 3)).toBe(333_333n);
    expect(ratioPct(1, 0)).toBeNull();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 12 }),
        fc.integer({ min: 1, max: 10 ** 12 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (part, whole, pct) => {
          // Oracle: part/whole ≤ pct/1e6 over rationals.
          expect(withinPct(part, pct, whole)).toBe(BigInt(part) * 1_000_000n <= BigInt(pct) * BigInt(whole));
        },
      ),
    );
  });
});
