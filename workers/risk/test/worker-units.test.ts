import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RiskGovernor } from "../src/risk-governor";
import { testEnv } from "./worker-helpers";

// State stored before quantities became hundredths and money micros (1e-4 $, whole contracts, no `units`) is
// converted once when the governor loads it: the same dollars and contracts, in the new units.
describe("stored state in the old units", () => {
  it("is converted on load: same equity, positions and reservations; written back once", async () => {
    const stub = testEnv.RISK_GOVERNOR.getByName("units-upgrade");
    const observedAtMs = Date.now();
    const loaded = await runInDurableObject(stub, async (instance: RiskGovernor, state) => {
      await state.storage.deleteAll();
      await state.storage.put({
        // $1,000 starting equity; bought 10 @ 0.40 (cost $4.00, cash $996.00); marked at 0.50.
        portfolio: {
          startingEquity: 10_000_000,
          cash: 9_960_000,
          realised: 0,
          positions: {},
          marks: {},
          day: new Date(observedAtMs).toISOString().slice(0, 10),
          dayStartEquity: 10_000_000,
          highWaterMark: 10_010_000,
          fillIds: {},
        },
        "pos:s1|kalshi:OLD": { strategyId: "s1", venue: "kalshi", market: "OLD", qty: 10, cost: 40_000 },
        "mark:kalshi:OLD": {
          venue: "kalshi",
          market: "OLD",
          price: 5_000,
          bestBid: 4_900,
          category: "politics",
          evidenceHash: "a".repeat(64),
          observedAtMs,
        },
        "rsv:rd_old": {
          posKey: "s1|kalshi:OLD",
          venue: "kalshi",
          market: "OLD",
          qty: 3,
          clientOrderId: "old-1",
          expiresAtMs: observedAtMs + 60_000,
          priceUnits: 5_100,
        },
      });
      const Governor = instance.constructor as new (s: DurableObjectState, e: unknown) => RiskGovernor;
      const fresh = new Governor(state, testEnv);
      await state.blockConcurrencyWhile(async () => {});
      const exposure = await fresh.exposure("NORMAL");
      return {
        exposure,
        portfolio: await state.storage.get<Record<string, unknown>>("portfolio"),
        pos: await state.storage.get("pos:s1|kalshi:OLD"),
        mark: await state.storage.get<Record<string, unknown>>("mark:kalshi:OLD"),
        rsv: await state.storage.get<Record<string, unknown>>("rsv:rd_old"),
      };
    });
    expect(loaded.portfolio).toMatchObject({ units: 2, cash: 996_000_000, startingEquity: 1_000_000_000 });
    expect(loaded.pos).toMatchObject({ qty: 1_000, cost: 4_000_000 });
    expect(loaded.mark).toMatchObject({ price: 500_000, bestBid: 490_000 });
    expect(loaded.rsv).toMatchObject({ qty: 300, priceUnits: 510_000 });
    expect(loaded.exposure).toMatchObject({
      ok: true,
      // 996 + 10 × 0.50 = 1,001.00; the high-water mark 1,001.00 as stored.
      value: { equity: "1001.00", highWaterMark: "1001.00", dayStartEquity: "1000.00", openPositions: 1 },
    });
  });
});
