import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, strictestLossLimits } from "../src/limits";

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
