import { describe, expect, it } from "vitest";
import { applyFill, marketKey, positionKey, valuation } from "../src/portfolio";
import { buildView } from "../src/view";
import { codes, evaluate, intent, isolatedLimits, mark, NOW, portfolio, settle } from "./helpers";

// Kalshi fills counts at 0.01 granularity: risk holds them as integer hundredths and money as integer micros, so
// every figure below is exact (no float drift, no truncation to whole contracts).
const fillOf = (id: string, side: "buy" | "sell", quantity: number, price: string, fee = "0.0100") => ({
  fillId: id,
  strategyId: "s1",
  venue: "kalshi" as const,
  market: "FRAC",
  side,
  quantity,
  price,
  fee,
  clientOrderId: `c-${id}`,
  ts: new Date(NOW).toISOString(),
});

describe("fractional Kalshi quantities", () => {
  it("applies a 0.37-contract fill exactly: position, cost, cash and fee", () => {
    const s = portfolio("1000.00");
    mark(s, "FRAC", "0.5612");
    settle(s);
    expect(applyFill(s, fillOf("a", "buy", 0.37, "0.5612"))).toEqual({ applied: true });
    const pos = s.positions[positionKey("s1", "kalshi", "FRAC")]!;
    expect(pos.qty).toBe(37); // hundredths
    expect(pos.cost).toBe(207_644); // 0.37 × 0.5612 = $0.207644, in micros
    expect(s.cash).toBe(1_000_000_000 - 207_644 - 10_000);
    // Valued at the mark it was bought at, equity lost exactly the fee.
    expect(valuation(s).equity).toBe(1_000_000_000 - 10_000);
  });

  it("sums fills that floats would not (0.1 + 0.2 contracts is exactly 0.3) and realises exact P&L", () => {
    const s = portfolio("1000.00");
    mark(s, "FRAC", "0.5000");
    settle(s);
    applyFill(s, fillOf("a", "buy", 0.1, "0.4000", "0"));
    applyFill(s, fillOf("b", "buy", 0.2, "0.4000", "0"));
    expect(s.positions[positionKey("s1", "kalshi", "FRAC")]!.qty).toBe(30);
    // Sell 0.3 at 0.60: realised (0.60 − 0.40) × 0.3 = $0.06 exactly; the position is flat.
    applyFill(s, fillOf("c", "sell", 0.3, "0.6000", "0"));
    expect(s.positions[positionKey("s1", "kalshi", "FRAC")]).toBeUndefined();
    expect(s.realised).toBe(60_000);
    expect(s.cash).toBe(1_000_060_000);
  });

  it("refuses a quantity that is not a positive multiple of 0.01, changing nothing", () => {
    const s = portfolio("1000.00");
    const before = JSON.stringify(s);
    for (const q of [0.375, 0, -1, Number.NaN])
      expect(applyFill(s, fillOf(`bad-${q}`, "buy", q, "0.5000")).applied).toBe(false);
    expect(JSON.stringify(s)).toBe(before);
  });

  it("counts fractional exposure in the limits exactly, at the boundary", () => {
    // $1,000 equity, position limit 1 % = $10.00: 20.00 contracts at 0.50 is exactly at it; 20.01 is over.
    const s = portfolio("1000.00");
    mark(s, "FRAC", "0.50");
    settle(s);
    const l = isolatedLimits({ maxPositionPct: "1", priceCollarPct: "10", priceCollarMinimum: "0.05" });
    const at = { market: "FRAC", limitPrice: "0.50", quantity: 20 };
    expect(evaluate(s, intent(at), l).approved).toBe(true);
    expect(codes(evaluate(s, intent({ ...at, quantity: 20.01 }), l))).toEqual(["POSITION_LIMIT_EXCEEDED"]);
    const view = buildView(s, [
      {
        posKey: positionKey("s1", "kalshi", "FRAC"),
        venue: "kalshi",
        market: "FRAC",
        qty: 37,
        clientOrderId: "c1",
        expiresAtMs: NOW + 1000,
        priceUnits: 500_000,
      },
    ]);
    expect(view.marketExposure.get(marketKey("kalshi", "FRAC"))).toBe(185_000); // 0.37 × $0.50
  });

  it("a fractional close closes exactly; an effect check never rounds", () => {
    const s = portfolio("1000.00");
    mark(s, "FRAC", "0.50");
    settle(s);
    applyFill(s, fillOf("a", "buy", 0.37, "0.5000", "0"));
    expect(
      evaluate(s, intent({ market: "FRAC", side: "sell", effect: "close", quantity: 0.37 }), isolatedLimits())
        .approved,
    ).toBe(true);
    const over = evaluate(
      s,
      intent({ market: "FRAC", side: "sell", effect: "close", quantity: 0.38 }),
      isolatedLimits(),
    );
    expect(over.reasons[0]).toMatchObject({ code: "EFFECT_MISMATCH", observed: "position=0.37 after=-0.01" });
  });

  it("IBKR trades whole shares: a fraction is denied QUANTITY_OFF_LOT", () => {
    const s = portfolio("100000.00");
    mark(s, "265598", "190.00", { venue: "ibkr" });
    settle(s);
    const i = intent({ venue: "ibkr", market: "265598", limitPrice: "190.00", quantity: 2.5 });
    expect(codes(evaluate(s, i, isolatedLimits()))).toContain("QUANTITY_OFF_LOT");
    expect(codes(evaluate(s, { ...i, quantity: 2 }, isolatedLimits()))).not.toContain("QUANTITY_OFF_LOT");
  });
});
