// What a page writes (#16 item 1): a row is rewritten exactly when a stored content column differs, whatever the
// column; unchanged rows are only seen. The oracle compares the columns themselves, not the content key.
import type { MarketRow } from "@paulp/venue-decode";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planWrites } from "../src/page-plan";
import { contentValues } from "../src/row-content";
import type { StoredState } from "../src/store";

const snapshot = {
  evidenceHash: "e".repeat(64),
  fetchedAt: "2026-12-02T12:00:00.000Z",
  refreshBefore: "2026-12-02T11:59:00.000Z",
};

// Short pieces from a small alphabet as well as arbitrary strings: neighbouring fields then often hold what one
// field held before ("ab" + "c" against "a" + "bc"), null against "" against "null", [] against null against [""],
// which is where a key that did not delimit its fields would miss a change.
const piece = fc.constantFrom("", "a", "b", "ab", "null", '"', "\\");
const text = fc.option(fc.oneof(piece, fc.string({ maxLength: 12 })), { nil: null });
const row: fc.Arbitrary<MarketRow> = fc.record({
  venue: fc.constantFrom("kalshi" as const, "polymarket" as const),
  marketId: fc.constant("M-1"),
  eventId: text,
  seriesId: text,
  title: fc.oneof(piece, fc.string({ maxLength: 12 })),
  category: text,
  status: fc.constantFrom("active", "closed"),
  closeTime: text,
  rules: text,
  resolutionSource: text,
  yesBid: fc.option(fc.constantFrom("0.4100", "0.4200"), { nil: null }),
  yesAsk: fc.option(fc.constantFrom("0.4300", "0.4400"), { nil: null }),
  lastPrice: fc.option(fc.constantFrom("0.4200"), { nil: null }),
  outcomeTokens: fc.option(fc.array(fc.oneof(piece, fc.string({ maxLength: 4 })), { maxLength: 3 }), {
    nil: null,
  }),
});

/** The stored state a committed write of `r` leaves (its key as planWrites computed it). */
function storedAfter(r: MarketRow): StoredState {
  const w = planWrites([r], new Map(), snapshot);
  return { contentKey: w.keys.get(r.marketId)!, status: r.status, markObservedAt: snapshot.fetchedAt };
}

function base(): MarketRow {
  return {
    venue: "polymarket",
    marketId: "M-1",
    eventId: null,
    seriesId: null,
    title: "t",
    category: null,
    status: "active",
    closeTime: null,
    rules: "r",
    resolutionSource: null,
    yesBid: null,
    yesAsk: null,
    lastPrice: null,
    outcomeTokens: ["1", "2"],
  };
}

describe("planWrites", () => {
  it("rewrites a row exactly when one of its stored content columns changed", () => {
    fc.assert(
      fc.property(row, row, (a, b) => {
        const stored = new Map([["M-1", storedAfter(a)]]);
        const w = planWrites([b], stored, snapshot);
        const differs = JSON.stringify(contentValues(a)) !== JSON.stringify(contentValues(b));
        expect(w.allowed).toHaveLength(1);
        expect(w.changed.length === 1).toBe(differs);
      }),
      { numRuns: 2000 },
    );
  });

  it("a new row is written with its content key; a row the same as stored is only seen", () => {
    const r: MarketRow = {
      venue: "kalshi",
      marketId: "M-1",
      eventId: "E",
      seriesId: "S",
      title: "Will it rain?",
      category: "Climate",
      status: "active",
      closeTime: "2026-12-31T00:00:00Z",
      rules: "Resolves Yes if it rains.",
      resolutionSource: null,
      yesBid: "0.4100",
      yesAsk: "0.4300",
      lastPrice: null,
      outcomeTokens: null,
    };
    const fresh = planWrites([r], new Map(), snapshot);
    expect(fresh.changed).toHaveLength(1);
    // No terms hash is computed to write a row: the key holds the terms' fingerprint, then the other columns.
    expect(fresh.changed[0]).not.toHaveProperty("termsHash");
    expect(fresh.keys.get("M-1")).toMatch(
      /^c2:[0-9a-f]{16}\["E","S","Climate","active","0.4100","0.4300",null\]$/,
    );
    const again = planWrites([r], new Map([["M-1", storedAfter(r)]]), snapshot);
    expect(again.changed).toHaveLength(0);
    expect(again.allowed).toHaveLength(1);
    // Only the rules moved: a change in the terms rewrites the row, under a new key.
    const reworded = planWrites(
      [{ ...r, rules: "Resolves Yes if it rains in London." }],
      new Map([["M-1", storedAfter(r)]]),
      snapshot,
    );
    expect(reworded.changed).toHaveLength(1);
    expect(reworded.keys.get("M-1")).not.toBe(fresh.keys.get("M-1"));
    // A key of the scheme before (the terms' SHA-256 first) never equals one of this scheme: rewritten once.
    const legacy = {
      contentKey: `${"0".repeat(64)}["E","S","Climate","active","0.4100","0.4300",null]`,
      status: "active",
      markObservedAt: snapshot.fetchedAt,
    };
    expect(planWrites([r], new Map([["M-1", legacy]]), snapshot).changed).toHaveLength(1);
  });

  it("denies a row whose terms hold a lone surrogate (no canonical form to hash) and plans the rest", () => {
    const ok: MarketRow = { ...base(), marketId: "M-OK" };
    const lone: MarketRow = { ...base(), marketId: "M-LONE", rules: "pays \ud800 if" };
    const pair: MarketRow = { ...base(), marketId: "M-PAIR", title: "smile \ud83d\ude00" };
    const w = planWrites([ok, lone, pair], new Map(), snapshot);
    expect(w.changed.map((r) => r.marketId)).toEqual(["M-OK", "M-PAIR"]);
    expect(w.denied).toEqual([{ marketId: "M-LONE", reason: expect.stringContaining("lone surrogate") }]);
  });
});
