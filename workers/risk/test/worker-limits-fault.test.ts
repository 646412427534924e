import { runInDurableObject } from "cloudflare:test";
import type { RiskLimitsView } from "@paulp/contracts";
import { DEFAULT_LIMITS } from "@paulp/risk-rules";
import { describe, expect, it } from "vitest";
import type { GovernorState } from "../src/governor-state";
import type { RiskGovernor } from "../src/risk-governor";
import { freshMark, risk, testEnv } from "./worker-helpers";

// Stored limits that do not parse (a corrupted record, a field written by a newer version) must not switch off
// the loss limits: orders are denied, the loss checks fall back to the strictest defaults, status says so.
/** What the constructor would hold after loading a stored record whose notional does not parse. */
async function corruptStoredLimits(): Promise<void> {
  const bad: RiskLimitsView = {
    version: 7,
    // The notional does not parse; the daily loss (2 %) does, and is stricter than the default 3 %.
    limits: { ...DEFAULT_LIMITS, maxOrderNotional: "lots", maxDailyLossPct: "2" },
    updatedAt: new Date(0).toISOString(),
    updatedBy: "corrupted",
  };
  await runInDurableObject(testEnv.RISK_GOVERNOR.getByName("portfolio"), async (instance: RiskGovernor) => {
    const g = (instance as unknown as { st: GovernorState }).st;
    g.limits = bad;
    g.parsed = null;
  });
}

describe("stored limits that do not parse", () => {
  it("still HALT on a loss breach (strictest of the defaults and what parses), and health reports the fault", async () => {
    await risk().recordMarks([freshMark("MKT-F", "0.50")]);
    const filled = await risk().recordFills([
      {
        fillId: "fault-1",
        strategyId: "f1",
        venue: "kalshi",
        market: "MKT-F",
        side: "buy",
        quantity: 10_000,
        price: "0.50",
        fee: "0",
        clientOrderId: "fault-order-1",
        ts: new Date().toISOString(),
      },
    ]);
    expect(filled).toMatchObject({ ok: true });
    await corruptStoredLimits();

    const health = await risk().health();
    expect(health.ok).toBe(false);
    expect(health.checks.find((c) => c.name === "risk_governor")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/stored limits v7 do not parse.*daily loss 2\.0000%, drawdown 10\.0000%/),
    });

    // 10,000 contracts at 0.50 fall to 0.475: a $250 loss, 0.25 % (no breach); to 0.28: $2,200, 2.2 % of the
    // day: past the stored 2 % (which still parses), short of the default 3 %.
    expect(await risk().recordMarks([freshMark("MKT-F", "0.475")])).toMatchObject({ ok: true });
    expect(await risk().getBreaker()).toMatchObject({ ok: true, value: { state: "NORMAL" } });
    expect(await risk().recordMarks([freshMark("MKT-F", "0.28")])).toMatchObject({ ok: true });
    expect(await risk().getBreaker()).toMatchObject({
      ok: true,
      value: { state: "HALT", reason: "daily_loss limit breached" },
    });
  });
});
