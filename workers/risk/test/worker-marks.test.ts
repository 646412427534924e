import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadGovernor } from "../src/governor-state";
import type { RiskGovernor } from "../src/risk-governor";
import { freshMark, risk, testEnv } from "./worker-helpers";

describe("marks at venue scale", () => {
  it("keeps 12,000 marks (each under its own key) and reloads them all after a restart", async () => {
    for (let batch = 0; batch < 3; batch++) {
      const marks = Array.from({ length: 4_000 }, (_, i) => freshMark(`MKT-${batch}-${i}`, "0.42"));
      expect(await risk().recordMarks(marks)).toEqual({ ok: true, value: { applied: 4_000 } });
    }
    const stub = testEnv.RISK_GOVERNOR.getByName("portfolio");
    const stored = await runInDurableObject(stub, async (_instance: RiskGovernor, state) => {
      const marks = await state.storage.list({ prefix: "mark:" });
      const portfolio = (await state.storage.get<{ marks: Record<string, unknown> }>("portfolio"))!;
      return { marks: marks.size, inPortfolioValue: Object.keys(portfolio.marks).length };
    });
    expect(stored).toEqual({ marks: 12_000, inPortfolioValue: 0 });

    // A fresh instance reads the marks back: an order on a market marked before the restart is priced.
    const reloaded = await runInDurableObject(stub, async (_instance: RiskGovernor, state) => {
      const fresh = await loadGovernor(state.storage, testEnv, Date.now());
      return fresh.portfolio.marks["kalshi:MKT-2-3999"];
    });
    expect(reloaded?.price).toBeGreaterThan(0);
  });

  it("changes nothing when one mark of a batch is bad", async () => {
    const good = freshMark("MKT-GOOD", "0.30");
    const bad = { ...freshMark("MKT-BAD", "0.30"), observedAt: "not a time" };
    const result = await risk().recordMarks([good, bad]);
    expect(result.ok).toBe(false);
    const stub = testEnv.RISK_GOVERNOR.getByName("portfolio");
    const stored = await runInDurableObject(stub, async (_i: RiskGovernor, state) =>
      state.storage.get("mark:kalshi:MKT-GOOD"),
    );
    expect(stored).toBeUndefined();
  });
});

describe("getMark: the mark a caller prices from (execution's hedges)", () => {
  it("answers the latest mark with risk's freshness limit, none for an unknown market, and refuses bad input", async () => {
    const mark = { ...freshMark("265598", "148.5000"), venue: "ibkr" as const, category: "Hedges" };
    expect((await risk().recordMarks([mark])).ok).toBe(true);
    expect(await risk().getMark("ibkr", "265598")).toEqual({
      ok: true,
      value: {
        mark: {
          venue: "ibkr",
          market: "265598",
          price: "148.5000",
          observedAt: new Date(Date.parse(mark.observedAt)).toISOString(),
          evidenceHash: mark.evidenceHash,
        },
        maxMarkAgeSeconds: 120,
      },
    });
    expect(await risk().getMark("ibkr", "999999")).toEqual({
      ok: true,
      value: { mark: null, maxMarkAgeSeconds: 120 },
    });
    const bad = await risk().getMark("nasdaq" as "ibkr", "265598");
    expect(bad.ok ? null : bad.error.code).toBe("validation_failed");
  });
});
