import { canonicalHash } from "@paulp/kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TERMS_DOMAIN, termsHash } from "../src/terms";

describe("termsHash", () => {
  it("equals kit's canonicalHash of the terms for any strings (fast path and fallback)", async () => {
    const s = fc.option(fc.string({ unit: "binary" }), { nil: null });
    await fc.assert(
      fc.asyncProperty(
        fc.string(),
        fc.string({ unit: "grapheme" }),
        s,
        s,
        s,
        async (venue, marketId, rules, resolutionSource, closeTime) => {
          const terms = { venue, marketId, rules, resolutionSource, closeTime };
          let expected: string | Error;
          try {
            expected = await canonicalHash(TERMS_DOMAIN, terms);
          } catch (error) {
            expected = error as Error;
          }
          if (expected instanceof Error) await expect(termsHash(terms)).rejects.toThrow();
          else expect(await termsHash(terms)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("changes when the rules, source or close time change", async () => {
    const base = {
      venue: "kalshi",
      marketId: "K",
      rules: "r",
      resolutionSource: null,
      closeTime: "2027-01-01T00:00:00.000Z",
    };
    const h = await termsHash(base);
    for (const change of [
      { rules: "r2" },
      { resolutionSource: "x" },
      { closeTime: "2027-01-02T00:00:00.000Z" },
    ]) {
      expect(await termsHash({ ...base, ...change })).not.toBe(h);
    }
  });
});
