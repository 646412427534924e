import { PERCENT_LIMITS } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, strictestLossLimits } from "../src/limits";

describe("the default limits", () => {
  it("are the specification's 5/10/15/30/3/10 % (position, concentration, market, category, daily loss, drawdown)", () => {
    expect(PERCENT_LIMITS.map((f) => DEFAULT_LIMITS[f])).toEqual(["5", "10", "15", "30", "3", "10"]);
  });
});

describe("loss limits when the stored limits do not parse", () => {
  const pct = (n: number) => n * 10_000;
  it("take the stricter of the default and each stored figure that still parses", () => {
    const defaults = { dailyLossPct: pct(3), drawdownPct: pct(10) };
    expect(strictestLossLimits({ ...DEFAULT_LIMITS, maxOrderNotional: "lots" })).toEqual(defaults);
    expect(strictestLossLimits({ maxDailyLossPct: "1.5", maxDrawdownPct: "25" })).toEqual({
      dailyLossPct: pct(1.5),
      drawdownPct: pct(10), // a looser stored figure is not taken
    });
    for (const junk of [null, undefined, 42, "x", [], { maxDailyLossPct: 1 }, { maxDrawdownPct: "-5" }])
      expect(strictestLossLimits(junk)).toEqual(defaults);
  });
});
