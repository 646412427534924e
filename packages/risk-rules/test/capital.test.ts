import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyCapitalChange, emptyPortfolio, valuation } from "../src/portfolio";
import { fill, mark, NOW, portfolio, settle } from "./helpers";

const UNIT = 1_000_000; // micros per dollar

describe("applyCapitalChange", () => {
  it("sets the first allocation as equity, day start and high-water mark", () => {
    const state = emptyPortfolio(null);
    expect(valuation(state).equity).toBeNull();
    expect(applyCapitalChange(state, 50_000 * UNIT, NOW)).toEqual({ previous: null });
    expect(valuation(state).equity).toBe(50_000 * UNIT);
    expect([state.dayStartEquity, state.highWaterMark]).toEqual([50_000 * UNIT, 50_000 * UNIT]);
  });

  it("never reads a deposit or withdrawal as P&L: daily change and drawdown are unchanged", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1_000, max: 10_000_000 }),
        (qty, buyCents, markCents, targetDollars) => {
          const state = portfolio("100000.00");
          mark(state, "MKT", `0.${String(buyCents).padStart(2, "0")}`);
          settle(state);
          fill(state, "s1", "MKT", "buy", qty, `0.${String(buyCents).padStart(2, "0")}`);
          mark(state, "MKT", `0.${String(markCents).padStart(2, "0")}`, { observedAtMs: NOW });
          settle(state);
          const before = valuation(state).equity!;
          const dayChange = before - state.dayStartEquity!;
          const drawdown = state.highWaterMark! - before;
          const target = targetDollars * UNIT;
          expect(applyCapitalChange(state, target, NOW)).toEqual({ previous: before });
          const after = valuation(state).equity!;
          expect(after).toBe(target);
          expect(after - state.dayStartEquity!).toBe(dayChange);
          expect(state.highWaterMark! - after).toBe(drawdown);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses while an open position has no mark, and refuses a non-positive target", () => {
    const state = portfolio("100000.00");
    mark(state, "MKT", "0.50");
    fill(state, "s1", "MKT", "buy", 10, "0.50");
    mark(state, "MKT", null, { observedAtMs: NOW });
    const cash = state.cash;
    expect(applyCapitalChange(state, 200_000 * UNIT, NOW)).toBeNull();
    expect(state.cash).toBe(cash);
    expect(applyCapitalChange(portfolio("1.00"), 0, NOW)).toBeNull();
  });
});
