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

const text = fc.option(fc.string({ maxLength: 12 }), { nil: null });
const row: fc.Arbitrary<MarketRow> = fc.record({
  venue: fc.constantFrom("kalshi" as const, "polymarket" as const),
  marketId: fc.constant("M-1"),
  eventId: text,
  seriesId: text,
  title: fc.string({ maxLength: 12 }),
  category: text,
  status: fc.constantFrom("active", "closed"),
  closeTime: text,
  rules: text,
  resolutionSource: text,
  yesBid: fc.option(fc.constantFrom("0.4100", "0.4200"), { nil: null }),
  yesAsk: fc.option(fc.constantFrom("0.4300", "0.4400"), { nil: null }),
  lastPrice: fc.option(fc.constantFrom("0.4200"), { nil: null }),
  outcomeTokens: fc.option(fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }), { nil: null }),
});

/** The stored state a committed write of `r` leaves (its key as planWrites computed it). */
async function storedAfter(r: MarketRow): Promise<StoredState> {
  const w = await planWrites([r], new Map(), snapshot);
  return { contentKey: w.keys.get(r.marketId)!, status: r.status, markObservedAt: snapshot.fetchedAt };
}

describe("planWrites", () => {
  it("rewrites a row exactly when one of its stored content columns changed", async () => {
    await fc.assert(
      fc.asyncProperty(row, row, async (a, b) => {
        const stored = new Map([["M-1", await storedAfter(a)]]);
        const w = await planWrites([b], stored, snapshot);
        const differs = JSON.stringify(contentValues(a)) !== JSON.stringify(contentValues(b));
        expect(w.allowed).toHaveLength(1);
        expect(w.changed.length === 1).toBe(differs);
      }),
      { numRuns: 300 },
    );
  });

  it("a new row is written with its terms hash; a row the same as stored is only seen", async () => {
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
    const fresh = await planWrites([r], new Map(), snapshot);
    expect(fresh.changed).toHaveLength(1);
    expect(fresh.changed[0]!.termsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(fresh.keys.get("M-1")!.startsWith(fresh.changed[0]!.termsHash)).toBe(true);
    const again = await planWrites([r], new Map([["M-1", await storedAfter(r)]]), snapshot);
    expect(again.changed).toHaveLength(0);
    expect(again.allowed).toHaveLength(1);
    // Only the rules moved: a change in the terms rewrites the row, with a new terms hash.
    const reworded = await planWrites(
      [{ ...r, rules: "Resolves Yes if it rains in London." }],
      new Map([["M-1", await storedAfter(r)]]),
      snapshot,
    );
    expect(reworded.changed).toHaveLength(1);
    expect(reworded.changed[0]!.termsHash).not.toBe(fresh.changed[0]!.termsHash);
  });
});
