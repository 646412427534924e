import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileRules, evaluateRules } from "../src/compliance";

describe("compiled keyword rules (one lowercasing per entity)", () => {
  it("answer as the per-rule lowercasing did, entity after entity", () => {
    const word = fc.constantFrom("election", "Election", "ELECTION", "war", "İstanbul", "ß", "");
    const entity = fc.record({
      venue: fc.constantFrom("kalshi" as const, "polymarket" as const),
      marketId: fc.string(),
      eventId: fc.constant(null),
      seriesId: fc.constant(null),
      title: fc.oneof(word, fc.string({ maxLength: 12 })),
      category: fc.constant(null),
      rules: fc.option(fc.oneof(word, fc.string({ maxLength: 12 })), { nil: null }),
    });
    const rules = [
      { id: "a", kind: "keyword" as const, value: "election", reason: "r" },
      { id: "b", kind: "keyword" as const, value: "İstanbul", reason: "r", venues: ["kalshi" as const] },
      { id: "c", kind: "keyword" as const, value: "ß", reason: "r" },
    ];
    const compiled = compileRules(rules);
    fc.assert(
      fc.property(fc.array(entity, { maxLength: 6 }), (entities) => {
        for (const e of entities) {
          const expected =
            rules.find(
              (r) =>
                (!r.venues || r.venues.includes(e.venue as "kalshi")) &&
                (e.title.toLowerCase().includes(r.value.toLowerCase()) ||
                  (e.rules ?? "").toLowerCase().includes(r.value.toLowerCase())),
            ) ?? "allow";
          expect(evaluateRules(compiled, e)).toBe(expected);
        }
      }),
      { numRuns: 500 },
    );
  });
});
