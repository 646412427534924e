import { applyFillEverywhere, applyMarksEverywhere, buildView, correlatedExposure } from "@paulp/risk-rules";
import { HASH, isolatedLimits, NOW, normalView, parsed, portfolio } from "@paulp/risk-rules/testing";
import { describe, expect, it } from "vitest";
import { currentView, type GovernorState } from "../src/governor-state";

// The governor's cached view over the pure rules of @paulp/risk-rules (whose own tests prove the view itself).
describe("the governor's view", () => {
  it("the governor's view keeps the totals of the limits in force: regrouped in place when the groups change", () => {
    const state = portfolio("10000.00");
    const at = new Date(NOW).toISOString();
    const marks = ["A", "B", "C"].map((market) => ({
      venue: "kalshi" as const,
      market,
      price: "0.5000",
      category: "politics",
      evidenceHash: HASH,
      observedAt: at,
    }));
    applyMarksEverywhere(state, {}, null, marks);
    for (const [fillId, market, quantity] of [
      ["a", "A", 10],
      ["b", "B", 20],
      ["c", "C", 40],
    ] as const)
      applyFillEverywhere(
        state,
        {},
        null,
        {
          fillId,
          strategyId: "s0",
          venue: "kalshi",
          market,
          side: "buy",
          quantity,
          price: "0.5000",
          fee: "0",
          clientOrderId: "c",
          ts: at,
        },
        NOW,
      );
    const limitsOf = (groups: Record<string, string[]>) =>
      parsed(isolatedLimits({ correlationGroups: groups }));
    const st: Pick<GovernorState, "portfolio" | "orders" | "parsed" | "view"> = {
      portfolio: state,
      orders: { reservations: {}, approvals: [] },
      parsed: limitsOf({ ab: ["kalshi:A", "kalshi:B"] }),
      view: null,
    };
    const view = currentView(st);
    expect(view.groups).toBe(st.parsed!.correlation);
    expect(correlatedExposure(view, st.parsed!.correlation, "kalshi:A")).toBe(15_000_000);
    // New limits: B now goes with C. The same view, its totals recomputed for the new groups.
    st.parsed = limitsOf({ bc: ["kalshi:B", "kalshi:C"] });
    expect(currentView(st)).toBe(view);
    expect(view.groups).toBe(st.parsed.correlation);
    expect(correlatedExposure(view, st.parsed.correlation, "kalshi:A")).toBe(5_000_000);
    expect(correlatedExposure(view, st.parsed.correlation, "kalshi:B")).toBe(30_000_000);
    expect(normalView(view)).toEqual(normalView(buildView(state, [], st.parsed.correlation)));
  });
});
