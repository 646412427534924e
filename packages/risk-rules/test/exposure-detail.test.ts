import { describe, expect, it } from "vitest";
import { exposureDetail } from "../src/exposure-detail";
import { buildView } from "../src/view";
import { fill, mark, NOW, portfolio, settle } from "./helpers";

describe("exposure detail (the console's positions and category chart)", () => {
  it("values each position at its mark, flags a mark older than the limit, and sums exposure per category", () => {
    const state = portfolio("10000.00");
    mark(state, "FRESH", "0.6000", { category: "politics", observedAtMs: NOW - 5_000 });
    mark(state, "OLD", "0.2000", { category: "economics", observedAtMs: NOW - 600_000 });
    fill(state, "s1", "FRESH", "buy", 10, "0.5000");
    fill(state, "s1", "OLD", "buy", 20, "0.2500");
    settle(state);
    const { positions, categories } = exposureDetail(state, buildView(state, []), 60_000, NOW);
    expect(positions).toEqual([
      expect.objectContaining({
        market: "FRESH",
        quantity: 10,
        avgPrice: "0.5000",
        mark: "0.6000",
        markAgeSeconds: 5,
        stale: false,
        unrealisedPnl: "1.00",
        category: "politics",
      }),
      expect.objectContaining({
        market: "OLD",
        quantity: 20,
        avgPrice: "0.2500",
        mark: "0.2000",
        markAgeSeconds: 600,
        stale: true,
        unrealisedPnl: "-1.00",
        category: "economics",
      }),
    ]);
    expect(positions[0]!.markEvidenceHash).toMatch(/^[0-9a-f]{64}$/);
    // Largest first; % of equity (10,000 less the unrealised loss and gain, which cancel).
    expect(categories).toEqual([
      { category: "politics", exposure: "6.00", pctOfEquity: "0.0600" },
      { category: "economics", exposure: "4.00", pctOfEquity: "0.0400" },
    ]);
  });

  it("lists nothing for a flat book", () => {
    const state = portfolio("10000.00");
    expect(exposureDetail(state, buildView(state, []), 60_000, NOW)).toEqual({
      positions: [],
      categories: [],
    });
  });
});
