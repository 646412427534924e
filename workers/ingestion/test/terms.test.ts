import { canonicalHash } from "@paulp/kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  LastTerms,
  TERMS_DOMAIN,
  TERMS_VERSION,
  type Terms,
  termsFingerprint,
  termsHash,
  termsWellFormed,
} from "../src/terms";

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

describe("LastTerms (the per-market memo of the last terms hashed)", () => {
  // The oracle is kit's canonicalHash (RFC 8785 text, hashed by WebCrypto), independent of the memo's own canonical
  // text and of node:crypto's createHash, which it calls.
  it("answers canonicalHash of the terms it is given after any sequence of markets and terms, within its bound", async () => {
    const field = (...xs: (string | null)[]) => fc.constantFrom(...xs);
    const terms = fc.record({
      venue: fc.constantFrom("kalshi", "polymarket"),
      marketId: fc.constantFrom("A", "B", "C"),
      title: field("Will it rain?", "Will it snow?", null, "é ünïcode 😀"),
      rules: field("rules v1", "rules v2", null, "x".repeat(40), "a \\ud800 backslash"),
      resolutionSource: field(null, "NOAA"),
      closeTime: field(null, "2027-01-01T00:00:00.000Z"),
      outcomeTokens: fc.constantFrom<string[] | null>(null, [], ["111", "222"], ["222", "111"], ["111"]),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(terms, { maxLength: 60 }), async (calls) => {
        const memo = new LastTerms(400);
        for (const t of calls) {
          const hash = memo.hash(t);
          // null sends the caller the general way: only for text holding a "\\ud" (here, the literal backslash).
          if (hash === null) expect(t.rules).toContain("\\ud");
          else expect(hash).toBe(await canonicalHash(TERMS_DOMAIN, t));
          expect(memo.size.chars).toBeLessThanOrEqual(400);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("is not fooled by a caller changing the token array it was given", () => {
    const memo = new LastTerms();
    const tokens = ["111", "222"];
    const t = {
      venue: "polymarket",
      marketId: "P",
      title: "t",
      rules: null,
      resolutionSource: null,
      closeTime: null,
    };
    const first = memo.hash({ ...t, outcomeTokens: tokens });
    tokens.reverse();
    expect(memo.hash({ ...t, outcomeTokens: tokens })).not.toBe(first);
  });

  it("answers null for a lone surrogate (the general path refuses it), and keeps nothing for it", () => {
    const memo = new LastTerms();
    const t = { venue: "kalshi", marketId: "S", title: "lone \ud800", rules: null, resolutionSource: null };
    expect(memo.hash({ ...t, closeTime: null, outcomeTokens: null })).toBeNull();
    expect(memo.size).toEqual({ markets: 0, chars: 0 });
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

describe("termsFingerprint (what the content key compares terms by)", () => {
  const at = (fields: Partial<Terms>): Terms => ({
    venue: "polymarket",
    marketId: "M",
    title: null,
    rules: null,
    resolutionSource: null,
    closeTime: null,
    outcomeTokens: null,
    ...fields,
  });

  it("gives every different set of terms built from short pieces a different fingerprint (fields never run together)", () => {
    // Every combination of these pieces in four fields and these token lists: a fingerprint that did not delimit its
    // fields ("ab" + "" against "a" + "b"), told null from "" from "null", or [] from null from [""], would repeat.
    const pieces = [null, "", "a", "b", "ab", "null", "\u0000", "\u{10000}"];
    const tokenLists = [null, [], [""], ["a"], ["a", "b"], ["ab"], ["b", "a"], ["", ""]];
    const seen = new Map<string, string>();
    for (const title of pieces)
      for (const rules of pieces)
        for (const resolutionSource of pieces)
          for (const closeTime of pieces)
            for (const outcomeTokens of tokenLists) {
              const t = at({ title, rules, resolutionSource, closeTime, outcomeTokens });
              const f = termsFingerprint(t);
              expect(f).toMatch(/^[0-9a-f]{16}$/);
              const id = JSON.stringify(t);
              expect(seen.get(f) ?? id).toBe(id);
              seen.set(f, id);
            }
    expect(seen.size).toBe(pieces.length ** 4 * tokenLists.length);
  });

  it("is the same value in every isolate and release (it is stored): a pinned vector", () => {
    // Changing the scheme is allowed only with a new CONTENT_KEY_SCHEME prefix (every row is then rewritten once).
    expect(
      termsFingerprint({
        venue: "kalshi",
        marketId: "KXRAIN-26DEC31",
        title: "Will it rain?",
        rules: "Resolves Yes if it rains.",
        resolutionSource: null,
        closeTime: "2026-12-31T00:00:00Z",
        outcomeTokens: null,
      }),
    ).toBe("ed835c52c1580a6e");
  });

  it("changes with any one code unit of any field, the venue and the id included", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.integer({ min: 1, max: 0xffff }),
        (s, at_, d) => {
          const i = at_ % s.length;
          const other = s.slice(0, i) + String.fromCharCode((s.charCodeAt(i) + d) & 0xffff) + s.slice(i + 1);
          for (const k of ["venue", "marketId", "title", "rules", "resolutionSource", "closeTime"] as const)
            expect(termsFingerprint(at({ [k]: s }))).not.toBe(termsFingerprint(at({ [k]: other })));
          expect(termsFingerprint(at({ outcomeTokens: [s] }))).not.toBe(
            termsFingerprint(at({ outcomeTokens: [other] })),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("termsWellFormed", () => {
  it("refuses a lone surrogate in any string of the terms and accepts a well-formed pair", () => {
    const t: Terms = {
      venue: "kalshi",
      marketId: "M",
      title: "t \ud83d\ude00",
      rules: "r",
      resolutionSource: "s",
      closeTime: "c",
      outcomeTokens: ["1", "2"],
    };
    expect(termsWellFormed(t)).toBe(true);
    for (const k of ["marketId", "title", "rules", "resolutionSource", "closeTime"] as const)
      expect(termsWellFormed({ ...t, [k]: "x\ud800" })).toBe(false);
    expect(termsWellFormed({ ...t, outcomeTokens: ["1", "\udc00"] })).toBe(false);
  });
});
