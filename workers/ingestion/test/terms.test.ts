import { canonicalHash } from "@paulp/kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LastTerms, TERMS_DOMAIN, TERMS_VERSION, termsHash } from "../src/terms";

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

/** SHA-256 hex by WebCrypto: an oracle independent of node:crypto's createHash, which LastTerms calls. */
async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("LastTerms (the per-market memo of the last terms hashed)", () => {
  it("answers the SHA-256 of the text it is given after any sequence of markets and texts, within its bound", async () => {
    const texts = ["", "a", "rules v1", "rules v2", "x".repeat(40), "é ünïcode", "y".repeat(90)];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom("k:A", "k:B", "p:A", "p:C"), fc.constantFrom(...texts)), {
          maxLength: 60,
        }),
        async (calls) => {
          const memo = new LastTerms(100);
          for (const [market, text] of calls) {
            expect(memo.hash(market, text)).toBe(await sha256Hex(text));
            expect(memo.size.chars).toBeLessThanOrEqual(100);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a market whose terms change and change back is hashed anew each time (through termsHash)", async () => {
    const terms = {
      venue: "kalshi",
      marketId: "KXMEMO-1",
      title: "Will it rain?",
      rules: "first",
      resolutionSource: null,
      closeTime: null,
      outcomeTokens: null,
    };
    for (const rules of ["first", "first", "second", "first", "second", "second"]) {
      const t = { ...terms, rules };
      expect(await termsHash(t)).toBe(await canonicalHash(TERMS_DOMAIN, t));
    }
  });
});
