import { canonicalHash } from "@paulp/kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TERMS_DOMAIN, TERMS_VERSION, termsHash } from "../src/terms";

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
        s,
        fc.option(fc.array(fc.string({ unit: "binary" }), { maxLength: 3 }), { nil: null }),
        async (venue, marketId, rules, resolutionSource, closeTime, title, outcomeTokens) => {
          const terms = { venue, marketId, title, rules, resolutionSource, closeTime, outcomeTokens };
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

  const base = {
    venue: "polymarket",
    marketId: "K",
    title: "Will CPI be above 2.6%?",
    rules: "r",
    resolutionSource: null,
    closeTime: "2027-01-01T00:00:00.000Z",
    outcomeTokens: ["111", "222"],
  };

  it("changes when the rules, source or close time change", async () => {
    const h = await termsHash(base);
    for (const change of [
      { rules: "r2" },
      { resolutionSource: "x" },
      { closeTime: "2027-01-02T00:00:00.000Z" },
    ]) {
      expect(await termsHash({ ...base, ...change })).not.toBe(h);
    }
  });

  it("covers the title and the outcome tokens (version 2): each changes the hash, their order included", async () => {
    expect(TERMS_VERSION).toBe(2);
    expect(TERMS_DOMAIN).toBe("paulp.market-terms.v2");
    const h = await termsHash(base);
    for (const change of [
      { title: "Will CPI be above 2.7%?" },
      { title: null },
      { outcomeTokens: ["222", "111"] },
      { outcomeTokens: ["111", "333"] },
      { outcomeTokens: null },
    ]) {
      expect({ change, changed: (await termsHash({ ...base, ...change })) !== h }).toEqual({
        change,
        changed: true,
      });
    }
  });
});
