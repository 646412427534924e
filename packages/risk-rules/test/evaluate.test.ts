import { formatDollars, parseDollars, parseQuantity, worstCaseFee } from "@paulp/kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateIntent, lossBreach } from "../src/evaluate";
import { correlatedWith } from "../src/limit-rules";
import { raisedLimits } from "../src/limits";
import { applyFill, exposureUnits, marketKey, positionKey, valuation } from "../src/portfolio";
import { buildView, type Reservation, reserveInView } from "../src/view";
import {
  codes,
  evaluate,
  fill,
  intent,
  isolatedLimits,
  mark,
  NOW,
  parsed,
  portfolio,
  settle,
} from "./helpers";

describe("each limit at exactly the limit and one tick over", () => {
  it("max position 5 %: $5,000 of $100,000 passes, one more contract does not", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    settle(s);
    const limits = isolatedLimits({ maxPositionPct: "5" });
    expect(evaluate(s, intent({ quantity: 10_000 }), limits).approved).toBe(true);
    const over = evaluate(s, intent({ quantity: 10_001 }), limits);
    expect(over.approved).toBe(false);
    expect(over.reasons).toEqual([
      expect.objectContaining({ code: "POSITION_LIMIT_EXCEEDED", observed: "5.0005%", limit: "5.0000%" }),
    ]);
  });

  it("max concentration 10 % counts every strategy in the market", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    fill(s, "s2", "MKT-A", "buy", 10_000, "0.50");
    settle(s);
    const limits = isolatedLimits({ maxConcentrationPct: "10" });
    expect(evaluate(s, intent({ quantity: 10_000 }), limits).approved).toBe(true);
    const over = evaluate(s, intent({ quantity: 10_001 }), limits);
    expect(codes(over)).toEqual(["CONCENTRATION_LIMIT_EXCEEDED"]);
    expect(over.reasons[0]!.observed).toBe("10.0005%");
  });

  it("max market exposure 15 % includes correlated markets, and only those", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    mark(s, "MKT-B", "0.50");
    mark(s, "MKT-C", "0.50");
    fill(s, "s2", "MKT-A", "buy", 20_000, "0.50"); // 10 %, correlated with B
    fill(s, "s2", "MKT-C", "buy", 20_000, "0.50"); // 10 %, not correlated
    settle(s);
    const limits = isolatedLimits({
      maxMarketExposurePct: "15",
      correlationGroups: { election: ["kalshi:MKT-A", "kalshi:MKT-B"] },
    });
    expect(evaluate(s, intent({ market: "MKT-B", quantity: 10_000 }), limits).approved).toBe(true);
    const over = evaluate(s, intent({ market: "MKT-B", quantity: 10_001 }), limits);
    expect(codes(over)).toEqual(["MARKET_EXPOSURE_LIMIT_EXCEEDED"]);
    expect(over.reasons[0]!.observed).toBe("15.0005%");
    // Without the group, B stands alone at 5 %.
    expect(
      evaluate(s, intent({ market: "MKT-B", quantity: 10_001 }), { ...limits, correlationGroups: {} })
        .approved,
    ).toBe(true);
  });

  it("max category exposure 30 % sums the category's markets", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50", { category: "politics" });
    mark(s, "MKT-B", "0.50", { category: "politics" });
    mark(s, "MKT-S", "0.50", { category: "sports" });
    fill(s, "s2", "MKT-A", "buy", 50_000, "0.50"); // 25 % politics
    fill(s, "s2", "MKT-S", "buy", 50_000, "0.50"); // 25 % sports
    settle(s);
    const limits = isolatedLimits({ maxCategoryExposurePct: "30" });
    expect(evaluate(s, intent({ market: "MKT-B", quantity: 10_000 }), limits).approved).toBe(true);
    const over = evaluate(s, intent({ market: "MKT-B", quantity: 10_001 }), limits);
    expect(codes(over)).toEqual(["CATEGORY_EXPOSURE_LIMIT_EXCEEDED"]);
    expect(over.reasons[0]).toMatchObject({ observed: "30.0005%", limit: "30.0000%" });
  });

  it("max daily loss 3 %: a loss plus the order's fee of exactly 3 % trades; a cent more does not; past 3 % is a breach that asks for HALT", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50", { observedAtMs: NOW - 5000 });
    mark(s, "MKT-B", "0.50");
    fill(s, "s2", "MKT-A", "buy", 10_000, "0.50");
    settle(s);
    mark(s, "MKT-A", "0.2007", { observedAtMs: NOW - 4000 }); // -$2,993
    settle(s);
    const limits = isolatedLimits({ maxDailyLossPct: "3" });
    // 400 contracts at 0.50 pay Kalshi's taker fee ceil(0.07 × 400 × 0.25) = $7.00: $2,993 + $7 = 3 %.
    const at = evaluate(s, intent({ market: "MKT-B", quantity: 400 }), limits);
    expect(at).toMatchObject({ approved: true, breach: null });
    // 401 pay $7.02: $3,000.02 of $100,000. The order is denied; the portfolio itself breaks nothing yet.
    const feeOver = evaluate(s, intent({ market: "MKT-B", quantity: 401 }), limits);
    expect(feeOver).toMatchObject({ approved: false, breach: null });
    expect(codes(feeOver)).toEqual(["DAILY_LOSS_LIMIT_EXCEEDED"]);
    mark(s, "MKT-A", "0.1999", { observedAtMs: NOW - 3000 }); // -$3,001
    settle(s);
    const over = evaluate(s, intent({ market: "MKT-B" }), limits);
    expect(over.approved).toBe(false);
    expect(over.breach).toBe("daily_loss");
    expect(over.reasons[0]).toMatchObject({
      code: "DAILY_LOSS_LIMIT_EXCEEDED",
      observed: "3.0011%", // $3,001 + the default order's $0.18 fee, truncated to 4 places
      limit: "3.0000%",
    });
  });

  it("max drawdown 10 % from the high-water mark: exactly 10 % with the order's fee trades, a cent more does not, one tick lower is a breach", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50", { observedAtMs: NOW - 5000 });
    mark(s, "MKT-B", "0.50");
    fill(s, "s2", "MKT-A", "buy", 100_000, "0.50");
    settle(s);
    mark(s, "MKT-A", "0.4001", { observedAtMs: NOW - 4000 }); // equity 90,010: drawdown 9.99 %
    settle(s);
    const limits = isolatedLimits({ maxDrawdownPct: "10" });
    // Fees at 0.50: 4,000 contracts pay $70.00 (equity 89,940: 10.06 %); 571 pay ceil($9.9925) = $10.00.
    const fee70 = intent({ market: "MKT-B", quantity: 4_000 });
    expect(codes(evaluate(s, fee70, limits))).toEqual(["DRAWDOWN_LIMIT_EXCEEDED"]);
    const fits = intent({ market: "MKT-B", quantity: 571 }); // ceil(9.9925) = $10.00: exactly 10 %
    expect(evaluate(s, fits, limits)).toMatchObject({ approved: true, breach: null });
    expect(codes(evaluate(s, intent({ market: "MKT-B", quantity: 572 }), limits))).toEqual([
      "DRAWDOWN_LIMIT_EXCEEDED",
    ]);
    mark(s, "MKT-A", "0.3999", { observedAtMs: NOW - 3000 });
    settle(s);
    const over = evaluate(s, intent({ market: "MKT-B" }), limits);
    expect(over).toMatchObject({ approved: false, breach: "drawdown" });
    expect(codes(over)).toEqual(["DRAWDOWN_LIMIT_EXCEEDED"]);
  });

  it("a loss breach does not block a reducing order (but is still reported for HALT)", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50", { observedAtMs: NOW - 5000 });
    fill(s, "s1", "MKT-A", "buy", 20_000, "0.50");
    settle(s);
    mark(s, "MKT-A", "0.30", { observedAtMs: NOW - 4000 });
    settle(s);
    const r = evaluate(
      s,
      intent({ side: "sell", effect: "reduce", quantity: 5_000, limitPrice: "0.30" }),
      isolatedLimits({ maxDailyLossPct: "3" }),
    );
    expect(r).toMatchObject({ approved: true, breach: "daily_loss" });
  });

  it("order quantity: the maximum passes, one more does not", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    settle(s);
    const limits = isolatedLimits({ maxOrderQuantity: 500 });
    expect(evaluate(s, intent({ quantity: 500 }), limits).approved).toBe(true);
    expect(evaluate(s, intent({ quantity: 501 }), limits).reasons).toEqual([
      expect.objectContaining({ code: "QUANTITY_LIMIT_EXCEEDED", observed: "501", limit: "500" }),
    ]);
  });

  it("order notional: exactly $50.00 passes, one price tick over does not", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    settle(s);
    const limits = isolatedLimits({ maxOrderNotional: "50.00" });
    expect(evaluate(s, intent({ quantity: 100, limitPrice: "0.50" }), limits).approved).toBe(true);
    const over = evaluate(s, intent({ quantity: 100, limitPrice: "0.51" }), limits);
    expect(over.reasons).toEqual([
      expect.objectContaining({ code: "NOTIONAL_LIMIT_EXCEEDED", observed: "51.00", limit: "50.00" }),
    ]);
  });

  it("submit rate: the Nth order in a minute passes, the N+1th does not", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    settle(s);
    const limits = isolatedLimits({ maxOrdersPerMinute: 5 });
    expect(evaluate(s, intent(), limits, { recent: 4 }).approved).toBe(true);
    expect(codes(evaluate(s, intent(), limits, { recent: 5 }))).toEqual(["RATE_LIMIT_EXCEEDED"]);
  });

  it("a client order id already approved is a duplicate", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    settle(s);
    expect(codes(evaluate(s, intent(), isolatedLimits(), { used: true }))).toEqual([
      "DUPLICATE_CLIENT_ORDER_ID",
    ]);
  });

  it("price within the venue's range and on its tick", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    mark(s, "PM-A", "0.50", { venue: "polymarket" });
    settle(s);
    const l = isolatedLimits();
    expect(evaluate(s, intent({ limitPrice: "0.01" }), l).approved).toBe(true);
    expect(evaluate(s, intent({ limitPrice: "0.99" }), l).approved).toBe(true);
    expect(codes(evaluate(s, intent({ limitPrice: "0.00" }), l))).toEqual(["PRICE_OUT_OF_RANGE"]);
    expect(codes(evaluate(s, intent({ limitPrice: "1.00" }), l))).toEqual(["PRICE_OUT_OF_RANGE"]);
    expect(codes(evaluate(s, intent({ limitPrice: "0.555" }), l))).toEqual(["PRICE_OFF_TICK"]);
    expect(
      evaluate(s, intent({ venue: "polymarket", market: "PM-A", limitPrice: "0.555" }), l).approved,
    ).toBe(true);
    expect(
      codes(evaluate(s, intent({ venue: "polymarket", market: "PM-A", limitPrice: "0.5555" }), l)),
    ).toEqual(["PRICE_OFF_TICK"]);
  });
});

describe("day start and high-water mark", () => {
  it("the day's loss counts from the first change of each UTC day; the high-water mark keeps the peak", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50", { observedAtMs: NOW - 5000 });
    fill(s, "s1", "MKT-A", "buy", 20_000, "0.50");
    settle(s);
    mark(s, "MKT-A", "0.30", { observedAtMs: NOW - 4000 }); // -$4,000 today: a 4 % daily loss
    settle(s);
    const limits = parsed(isolatedLimits({ maxDailyLossPct: "3", maxDrawdownPct: "10" }));
    expect(lossBreach(buildView(s, []), limits)).toBe("daily_loss");
    settle(s, NOW + 24 * 3600_000); // next UTC day: the day starts at 96,000
    expect(s.dayStartEquity).toBe(96_000 * 1_000_000);
    expect(s.highWaterMark).toBe(100_000 * 1_000_000);
    expect(lossBreach(buildView(s, []), limits)).toBeNull();
  });
});

describe("marks a binary contract cannot have", () => {
  it("a Kalshi or Polymarket mark above $1 is refused; $1 itself and an IBKR price above $1 are fine", () => {
    const s = portfolio();
    expect(() => mark(s, "MKT-X", "1.5000")).toThrow(/above \$1 for a kalshi contract/);
    expect(() => mark(s, "0xabc", "1.0001", { venue: "polymarket" })).toThrow(/above \$1/);
    expect(() => mark(s, "MKT-X", "1.0000")).not.toThrow();
    expect(() => mark(s, "265598", "187.2500", { venue: "ibkr" })).not.toThrow();
    expect(s.marks[marketKey("kalshi", "MKT-X")]?.price).toBe(1_000_000);
  });
});

describe("a mark without a category", () => {
  it("keeps the category already known, so held exposure stays in its category", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50", { category: "politics" });
    mark(s, "MKT-A", "0.55", { category: null, observedAtMs: NOW - 500 });
    expect(s.marks[marketKey("kalshi", "MKT-A")]).toMatchObject({ price: 550_000, category: "politics" });
    // A market never categorised stays uncategorised (its own orders are denied for it).
    mark(s, "MKT-N", "0.40", { category: null });
    expect(s.marks[marketKey("kalshi", "MKT-N")]?.category).toBeNull();
  });
});

describe("fail closed on every missing or doubtful input", () => {
  const l = isolatedLimits({ maxMarkAgeSeconds: 60 });

  it("unknown market", () => {
    const s = portfolio();
    settle(s);
    expect(codes(evaluate(s, intent(), l))).toEqual(["UNKNOWN_MARKET"]);
  });

  it("no mark price", () => {
    const s = portfolio();
    mark(s, "MKT-A", null);
    settle(s);
    expect(codes(evaluate(s, intent(), l))).toEqual(["NO_MARK_PRICE"]);
  });

  it("a mark exactly maxMarkAgeSeconds old passes; one millisecond older is stale", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50", { observedAtMs: NOW - 60_000 });
    settle(s);
    expect(evaluate(s, intent(), l).approved).toBe(true);
    expect(evaluate(s, intent(), l, { nowMs: NOW + 1 }).reasons).toEqual([
      expect.objectContaining({ code: "STALE_MARK", limit: "60s" }),
    ]);
  });

  it("a mark from the future", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50", { observedAtMs: NOW + 60_000 });
    settle(s);
    expect(codes(evaluate(s, intent(), l))).toEqual(["MARK_FROM_FUTURE"]);
  });

  it("no category", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50", { category: null });
    settle(s);
    expect(codes(evaluate(s, intent(), l))).toEqual(["NO_CATEGORY"]);
  });

  it("no equity figure (no starting equity)", () => {
    const s = portfolio(null);
    mark(s, "MKT-A", "0.50");
    settle(s);
    expect(codes(evaluate(s, intent(), l))).toEqual(["NO_EQUITY"]);
  });

  it("no equity figure (an open position lost its mark price)", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    mark(s, "MKT-B", "0.50");
    fill(s, "s2", "MKT-B", "buy", 10, "0.50");
    settle(s);
    mark(s, "MKT-B", null, { observedAtMs: NOW });
    expect(codes(evaluate(s, intent(), l))).toEqual(["NO_EQUITY"]);
  });

  it("NaN quantity and NaN portfolio figures", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    settle(s);
    expect(codes(evaluate(s, intent({ quantity: Number.NaN }), l))).toEqual(["NON_FINITE_INPUT"]);
    expect(codes(evaluate(s, intent(), l, { view: (v) => (v.equity = Number.NaN) }))).toEqual([
      "NON_FINITE_INPUT",
    ]);
    expect(
      codes(evaluate(s, intent(), l, { view: (v) => v.marketExposure.set("kalshi:MKT-A", Number.NaN) })),
    ).toEqual(["NON_FINITE_INPUT"]);
  });
});

describe("breaker states", () => {
  it("HALT denies an opening order and lets a reducing one through", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    fill(s, "s1", "MKT-A", "buy", 100, "0.50");
    settle(s);
    const l = isolatedLimits();
    expect(evaluate(s, intent({ effect: "increase" }), l, { breaker: "HALT" }).reasons).toEqual([
      expect.objectContaining({ code: "BREAKER_HALTED" }),
    ]);
    expect(codes(evaluate(s, intent({ market: "MKT-A", strategyId: "s9" }), l, { breaker: "HALT" }))).toEqual(
      ["BREAKER_HALTED"],
    );
    expect(
      evaluate(s, intent({ side: "sell", effect: "reduce", quantity: 50 }), l, { breaker: "HALT" }).approved,
    ).toBe(true);
    expect(
      evaluate(s, intent({ side: "sell", effect: "close", quantity: 100 }), l, { breaker: "HALT" }).approved,
    ).toBe(true);
  });

  it("an order mislabelled as reducing cannot slip through HALT", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    fill(s, "s1", "MKT-A", "buy", 100, "0.50");
    settle(s);
    const l = isolatedLimits();
    expect(
      codes(evaluate(s, intent({ side: "buy", effect: "reduce", quantity: 50 }), l, { breaker: "HALT" })),
    ).toEqual(["EFFECT_MISMATCH"]);
    expect(
      codes(evaluate(s, intent({ side: "sell", effect: "reduce", quantity: 150 }), l, { breaker: "HALT" })),
    ).toEqual(["EFFECT_MISMATCH"]);
    expect(
      codes(evaluate(s, intent({ side: "sell", effect: "close", quantity: 99 }), l, { breaker: "HALT" })),
    ).toEqual(["EFFECT_MISMATCH"]);
  });

  it("CAUTION halves the exposure limits", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    settle(s);
    const l = isolatedLimits({ maxPositionPct: "5" });
    expect(evaluate(s, intent({ quantity: 5_000 }), l, { breaker: "CAUTION" }).approved).toBe(true);
    expect(evaluate(s, intent({ quantity: 5_001 }), l, { breaker: "CAUTION" }).reasons[0]).toMatchObject({
      code: "POSITION_LIMIT_EXCEEDED",
      limit: "2.5000%",
    });
    expect(evaluate(s, intent({ quantity: 5_001 }), l, { breaker: "NORMAL" }).approved).toBe(true);
  });

  it("RECOVERY allows probe orders only", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.50");
    settle(s);
    const l = isolatedLimits({ maxOrderNotional: "1000.00" }); // probe = $100
    expect(evaluate(s, intent({ quantity: 200 }), l, { breaker: "RECOVERY" }).approved).toBe(true);
    expect(codes(evaluate(s, intent({ quantity: 201 }), l, { breaker: "RECOVERY" }))).toEqual([
      "RECOVERY_PROBE_TOO_LARGE",
    ]);
  });
});

describe("properties", () => {
  it("at the position limit exactly: floor(limit/price) contracts pass and one more fails, for any equity, limit and price", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 10_000_000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 99 }),
        (dollars, pct, cents) => {
          const s = portfolio(`${dollars}.00`);
          const price = `0.${String(cents).padStart(2, "0")}`;
          mark(s, "MKT-A", price);
          settle(s);
          const l = isolatedLimits({
            maxPositionPct: String(pct),
            maxOrderQuantity: 1_000_000_000,
            maxOrderNotional: "100000000.00",
          });
          const max = Math.floor((dollars * pct) / cents); // contracts: dollars*pct/100 / (cents/100)
          if (max >= 1)
            expect(evaluate(s, intent({ quantity: max, limitPrice: price }), l).approved).toBe(true);
          expect(codes(evaluate(s, intent({ quantity: max + 1, limitPrice: price }), l))).toContain(
            "POSITION_LIMIT_EXCEEDED",
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  const markets = ["M0", "M1", "M2", "M3", "M4"];
  const arbitrary = fc.record({
    prices: fc.array(fc.integer({ min: 1, max: 99 }), { minLength: 5, maxLength: 5 }),
    cats: fc.array(fc.constantFrom("c0", "c1"), { minLength: 5, maxLength: 5 }),
    group: fc.subarray(markets),
    fills: fc.array(
      fc.record({
        s: fc.constantFrom("s0", "s1", "s2"),
        m: fc.nat(4),
        side: fc.constantFrom("buy" as const, "sell" as const),
        q: fc.integer({ min: 1, max: 20_000 }),
      }),
      { maxLength: 12 },
    ),
    moves: fc.array(fc.integer({ min: 1, max: 99 }), { minLength: 5, maxLength: 5 }),
    pcts: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 6, maxLength: 6 }),
    order: fc.record({
      s: fc.constantFrom("s0", "s1", "s2"),
      m: fc.nat(4),
      side: fc.constantFrom("buy" as const, "sell" as const),
      effect: fc.constantFrom("open" as const, "increase" as const, "reduce" as const, "close" as const),
      q: fc.integer({ min: 1, max: 10_000 }),
      cents: fc.integer({ min: 1, max: 99 }),
    }),
  });

  it("no approved order ever leaves a limit it touches exceeded (random portfolios, fill at the limit price)", () => {
    let approvedOpens = 0;
    fc.assert(
      fc.property(arbitrary, (g) => {
        const s = portfolio();
        for (const [i, m] of markets.entries()) {
          mark(s, m, `0.${String(g.prices[i]).padStart(2, "0")}`, {
            category: g.cats[i]!,
            observedAtMs: NOW - 5000,
          });
        }
        for (const f of g.fills)
          fill(s, f.s, markets[f.m]!, f.side, f.q, `0.${String(g.prices[f.m]).padStart(2, "0")}`);
        settle(s);
        for (const [i, m] of markets.entries()) {
          mark(s, m, `0.${String(g.moves[i]).padStart(2, "0")}`, {
            category: g.cats[i]!,
            observedAtMs: NOW - 1000,
          });
        }
        settle(s);
        const [p0, p1, p2, p3, p4, p5] = g.pcts.map(String) as [
          string,
          string,
          string,
          string,
          string,
          string,
        ];
        const limits = isolatedLimits({
          maxPositionPct: p0,
          maxConcentrationPct: p1,
          maxMarketExposurePct: p2,
          maxCategoryExposurePct: p3,
          maxDailyLossPct: p4,
          maxDrawdownPct: p5,
          correlationGroups: { g: g.group.map((m) => `kalshi:${m}`) },
        });
        const o = g.order;
        const market = markets[o.m]!;
        const price = `0.${String(o.cents).padStart(2, "0")}`;
        const r = evaluate(
          s,
          intent({
            strategyId: o.s,
            market,
            side: o.side,
            effect: o.effect,
            quantity: o.q,
            limitPrice: price,
          }),
          limits,
        );
        if (!r.approved || !r.opensRisk) return;
        approvedOpens++;
        fill(s, o.s, market, o.side, o.q, price);
        settle(s);
        const v = buildView(s, []);
        const p = parsed(limits);
        const e = v.equity!;
        const within = (part: number, pct: number, whole: number) =>
          BigInt(part) * 1_000_000n <= BigInt(pct) * BigInt(whole);
        const mk = marketKey("kalshi", market);
        const markPrice = s.marks[mk]!.price!;
        expect(
          within(
            exposureUnits("kalshi", v.filledQty.get(positionKey(o.s, "kalshi", market)) ?? 0, markPrice),
            p.positionPct,
            e,
          ),
        ).toBe(true);
        expect(within(v.marketExposure.get(mk) ?? 0, p.concentrationPct, e)).toBe(true);
        let group = 0;
        for (const k of correlatedWith(p.correlation, mk)) group += v.marketExposure.get(k) ?? 0;
        expect(within(group, p.marketPct, e)).toBe(true);
        expect(within(v.categoryExposure.get(s.marks[mk]!.category!) ?? 0, p.categoryPct, e)).toBe(true);
        expect(lossBreach(v, p)).toBeNull();
      }),
      { numRuns: 1000 },
    );
    // Not vacuous: a fair share of the random orders were approved openings (typically 70–100 of 1,000).
    expect(approvedOpens).toBeGreaterThan(25);
  });
});

describe("orders sized by what they can lose (a short YES loses 1 − price a contract)", () => {
  it("a sell-to-open of 2,500 @ 0.10 (notional $250, worst-case loss $2,250) is no $250 RECOVERY probe", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.10");
    settle(s);
    const l = isolatedLimits({ recoveryProbeNotional: "250.00" });
    const sell = intent({ side: "sell", quantity: 2_500, limitPrice: "0.10" });
    expect(evaluate(s, sell, l, { breaker: "RECOVERY" }).reasons).toEqual([
      expect.objectContaining({ code: "RECOVERY_PROBE_TOO_LARGE", observed: "2250.00", limit: "250.00" }),
    ]);
    // What it can lose within the probe: 277 contracts × $0.90 = $249.30 passes; 278 ($250.20) does not.
    expect(evaluate(s, intent({ ...sell, quantity: 277 }), l, { breaker: "RECOVERY" }).approved).toBe(true);
    expect(codes(evaluate(s, intent({ ...sell, quantity: 278 }), l, { breaker: "RECOVERY" }))).toEqual([
      "RECOVERY_PROBE_TOO_LARGE",
    ]);
    // A buy loses at most its notional: 2,500 @ 0.10 = $250 is a probe.
    expect(
      evaluate(s, intent({ quantity: 2_500, limitPrice: "0.10" }), l, { breaker: "RECOVERY" }).approved,
    ).toBe(true);
  });

  it("maxOrderNotional holds an opening short to its worst-case loss; a reducing sell keeps its notional", () => {
    const s = portfolio();
    mark(s, "MKT-A", "0.10");
    fill(s, "s1", "MKT-B", "buy", 5_000, "0.10");
    mark(s, "MKT-B", "0.10");
    settle(s);
    const l = isolatedLimits({ maxOrderNotional: "1000.00" });
    const short = evaluate(s, intent({ side: "sell", quantity: 2_500, limitPrice: "0.10" }), l);
    expect(short.reasons).toEqual([
      expect.objectContaining({ code: "NOTIONAL_LIMIT_EXCEEDED", observed: "2250.00", limit: "1000.00" }),
    ]);
    expect(short.reasons[0]!.message).toMatch(/notional=250\.00 worst-case loss=2250\.00/);
    // Selling 2,500 of a long (a reduction) risks nothing new: its notional ($250) is what counts.
    const reduce = intent({
      market: "MKT-B",
      side: "sell",
      effect: "reduce",
      quantity: 2_500,
      limitPrice: "0.10",
    });
    expect(evaluate(s, reduce, l).approved).toBe(true);
  });

  it("property: in RECOVERY an opening order passes the probe exactly when the most it can lose at settlement, and its notional, fit", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("kalshi" as const, "polymarket" as const),
        fc.constantFrom("buy" as const, "sell" as const),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1, max: 2_000 }),
        (venue, side, quantity, cents, probeDollars) => {
          const s = portfolio();
          const price = `0.${String(cents).padStart(2, "0")}`;
          const market = venue === "kalshi" ? "MKT-A" : "PM-A";
          mark(s, market, price, { venue });
          settle(s);
          const l = isolatedLimits({ recoveryProbeNotional: `${probeDollars}.00` });
          const r = evaluate(s, intent({ venue, market, side, quantity, limitPrice: price }), l, {
            breaker: "RECOVERY",
          });
          // The oracle settles the filled order both ways (YES pays $1, NO pays nothing), in cents.
          const paid = side === "buy" ? quantity * cents : -quantity * cents;
          const lossAt = (payoutCents: number) =>
            side === "buy" ? paid - quantity * payoutCents : quantity * payoutCents + paid;
          const worst = Math.max(lossAt(0), lossAt(100), quantity * cents);
          expect(codes(r).includes("RECOVERY_PROBE_TOO_LARGE")).toBe(worst > probeDollars * 100);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("marks of held positions (a stale mark hides a loss; de-risking needs no mark)", () => {
  const l = isolatedLimits({ maxMarkAgeSeconds: 120 });

  it("an opening order is denied while any held position is valued at a stale mark, naming it with its age", () => {
    const s = portfolio();
    mark(s, "MKT-H", "0.50", { observedAtMs: NOW - 300_000 }); // five minutes old
    mark(s, "MKT-A", "0.50");
    fill(s, "s2", "MKT-H", "buy", 1_000, "0.50");
    settle(s);
    const r = evaluate(s, intent(), l);
    expect(r.reasons).toEqual([
      expect.objectContaining({ code: "NO_EQUITY", observed: "300s", limit: "120s" }),
    ]);
    expect(r.reasons[0]!.message).toMatch(/s2\|kalshi:MKT-H \(mark 300s old\)/);
    // Exactly at the age limit it still counts as marked.
    mark(s, "MKT-H", "0.50", { observedAtMs: NOW - 120_000 });
    expect(evaluate(s, intent(), l).approved).toBe(true);
    expect(codes(evaluate(s, intent(), l, { nowMs: NOW + 1 }))).toEqual(["NO_EQUITY"]);
  });

  it("a reduce or close is never refused for a stale, missing, doubtful or absent mark, only bounded by the position", () => {
    const s = portfolio();
    mark(s, "MKT-S", "0.50", { observedAtMs: NOW - 3_600_000 }); // an hour old
    mark(s, "MKT-N", "0.50", { observedAtMs: NOW - 5000 });
    mark(s, "MKT-F", "0.50", { observedAtMs: NOW - 5000 });
    fill(s, "s1", "MKT-S", "buy", 100, "0.50");
    fill(s, "s1", "MKT-N", "sell", 100, "0.50");
    fill(s, "s1", "MKT-F", "buy", 100, "0.50");
    fill(s, "s1", "MKT-U", "buy", 100, "0.50"); // a market risk never had a mark for
    settle(s);
    mark(s, "MKT-N", null, { category: null, observedAtMs: NOW - 4000 });
    mark(s, "MKT-F", "0.50", { observedAtMs: NOW + 3_600_000 }); // from the future
    for (const breaker of ["NORMAL", "HALT"] as const) {
      const sell = (market: string, effect: "reduce" | "close", quantity: number) =>
        evaluate(s, intent({ market, side: "sell", effect, quantity, limitPrice: "0.40" }), l, { breaker });
      expect(sell("MKT-S", "reduce", 50).approved).toBe(true);
      expect(sell("MKT-S", "close", 100).approved).toBe(true);
      expect(sell("MKT-F", "close", 100).approved).toBe(true);
      expect(sell("MKT-U", "close", 100).approved).toBe(true);
      expect(
        evaluate(s, intent({ market: "MKT-N", side: "buy", effect: "close", quantity: 100 }), l, { breaker })
          .approved,
      ).toBe(true);
      // Bounded by the position it reduces: past flat is no reduction.
      expect(codes(sell("MKT-S", "reduce", 150))).toEqual(["EFFECT_MISMATCH"]);
      expect(codes(sell("MKT-U", "close", 101))).toEqual(["EFFECT_MISMATCH"]);
    }
    // Opening on those markets stays denied for its mark (and for the held stale/unpriced positions).
    expect(codes(evaluate(s, intent({ market: "MKT-S", strategyId: "s9" }), l))).toEqual([
      "STALE_MARK",
      "NO_EQUITY",
    ]);
  });

  it("property: an approved opening order never rests on a held position valued at a mark older than the limit", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        (agesSeconds, quantities, target) => {
          const s = portfolio();
          const markets = ["M0", "M1", "M2", "M3"];
          for (const [k, m] of markets.entries()) {
            mark(s, m, "0.50", { observedAtMs: NOW - agesSeconds[k]! * 1000 });
            const q = quantities[k]!;
            if (q !== 0) fill(s, "s1", m, q > 0 ? "buy" : "sell", Math.abs(q), "0.50");
          }
          settle(s);
          const r = evaluate(s, intent({ strategyId: "s9", market: markets[target]! }), l);
          // The oracle reads the ages straight from the inputs.
          const staleHeld = markets.some((_, k) => quantities[k] !== 0 && agesSeconds[k]! > 120);
          if (staleHeld) expect(r.approved).toBe(false);
          if (!staleHeld && agesSeconds[target]! <= 120) expect(r.approved).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("approved orders not yet filled reserve their worst-case loss and fee", () => {
  // $2,990 lost today (2.99 %); each 400 @ 0.50 buy pays a $7.00 taker fee: one fits the 3 %, two do not.
  function nearTheLimit() {
    const s = portfolio();
    mark(s, "MKT-L", "0.50", { observedAtMs: NOW - 5000 });
    mark(s, "MKT-A", "0.50");
    fill(s, "s2", "MKT-L", "buy", 10_000, "0.50");
    settle(s);
    mark(s, "MKT-L", "0.2010", { observedAtMs: NOW - 4000 });
    settle(s);
    return s;
  }
  const l = isolatedLimits({ maxDailyLossPct: "3" });
  const reservationOf = (i: ReturnType<typeof intent>, id: string): Reservation => ({
    posKey: positionKey(i.strategyId, i.venue, i.market),
    venue: i.venue,
    market: i.market,
    qty: (i.side === "buy" ? 1 : -1) * parseQuantity(i.quantity),
    clientOrderId: id,
    expiresAtMs: NOW + 30_000,
    priceUnits: parseDollars(i.limitPrice),
  });

  it("two openings approved back to back cannot pass the daily-loss limit one combined order hits", () => {
    const s = nearTheLimit();
    const a = intent({ quantity: 400 });
    const b = intent({ quantity: 400, clientOrderId: "client-0002" });
    expect(evaluate(s, a, l).approved).toBe(true);
    expect(codes(evaluate(s, intent({ quantity: 800 }), l))).toEqual(["DAILY_LOSS_LIMIT_EXCEEDED"]);
    // B after A was approved (A reserved, in the view rebuilt or updated in place): denied, naming 3.004 %.
    const rebuilt = buildView(s, [reservationOf(a, "a")]);
    const updated = buildView(s, []);
    reserveInView(updated, a, parseQuantity(a.quantity), false);
    for (const view of [rebuilt, updated]) {
      const r = evaluateIntent({
        intent: b,
        view,
        limits: parsed(l),
        breakerState: "NORMAL",
        nowMs: NOW,
        approvalsLastMinute: 1,
        clientOrderIdUsed: false,
      });
      expect(r.reasons).toEqual([
        expect.objectContaining({ code: "DAILY_LOSS_LIMIT_EXCEEDED", observed: "3.0040%", limit: "3.0000%" }),
      ]);
    }
  });

  it("property: openings approved back to back, all filled at their limits with their worst fees, break no loss limit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }), // the day's loss so far, in tenths of a percent
        fc.integer({ min: 1, max: 100 }), // daily-loss limit, in tenths of a percent
        fc.array(
          fc.record({
            m: fc.constantFrom("MKT-A", "MKT-B"),
            side: fc.constantFrom("buy" as const, "sell" as const),
            q: fc.integer({ min: 1, max: 4_000 }),
            cents: fc.integer({ min: 1, max: 99 }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        (lostTenths, limitTenths, orders) => {
          const s = portfolio();
          mark(s, "MKT-L", "0.50", { observedAtMs: NOW - 5000 });
          mark(s, "MKT-A", "0.50");
          mark(s, "MKT-B", "0.30");
          fill(s, "s2", "MKT-L", "buy", 100_000, "0.50");
          settle(s);
          // Lose lostTenths/10 % of $100,000 on MKT-L: $0.001 a contract per tenth.
          mark(s, "MKT-L", ((5_000 - lostTenths * 10) / 10_000).toFixed(4), { observedAtMs: NOW - 4000 });
          settle(s);
          const limits = isolatedLimits({ maxDailyLossPct: (limitTenths / 10).toFixed(1) });
          const view = buildView(s, []);
          const approved: typeof orders = [];
          orders.forEach((o, k) => {
            const i = intent({
              strategyId: `p${k}`,
              market: o.m,
              side: o.side,
              quantity: o.q,
              limitPrice: `0.${String(o.cents).padStart(2, "0")}`,
              clientOrderId: `client-${k}-0000`,
            });
            const r = evaluateIntent({
              intent: i,
              view,
              limits: parsed(limits),
              breakerState: "NORMAL",
              nowMs: NOW,
              approvalsLastMinute: k,
              clientOrderIdUsed: false,
            });
            if (!r.approved) return;
            reserveInView(view, i, r.delta, false);
            approved.push(o);
          });
          if (approved.length === 0) return;
          // The oracle: fill every approved order at its limit, paying its worst fee, and value the portfolio.
          approved.forEach((o, k) => {
            const price = `0.${String(o.cents).padStart(2, "0")}`;
            const fee = worstCaseFee("kalshi", o.q * 100, o.cents * 10_000);
            const r = applyFill(s, {
              fillId: `oracle-${k}-${Math.random()}`,
              strategyId: `p${k}`,
              venue: "kalshi",
              market: o.m,
              side: o.side,
              quantity: o.q,
              price,
              fee: formatDollars(fee, 4, "ceil"),
              clientOrderId: `oracle-${k}`,
              ts: new Date(NOW).toISOString(),
            });
            expect(r.error).toBeUndefined();
          });
          const equity = valuation(s).equity!;
          const dayStart = s.dayStartEquity!;
          const loss = BigInt(Math.max(0, dayStart - equity));
          expect(loss * 1000n <= BigInt(limitTenths) * BigInt(dayStart)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("price collar (SEC 15c3-5 erroneous-order control)", () => {
  const l = isolatedLimits({ priceCollarPct: "10", priceCollarMinimum: "0.05" });
  const marked = (price: string, book: { bestBid?: string | null; bestAsk?: string | null } = {}) => {
    const s = portfolio();
    mark(s, "MKT-A", price, book);
    settle(s);
    return s;
  };

  it("with a fresh mark at 0.78 a buy at 0.99 is denied naming both prices; inside the collar it passes", () => {
    const s = marked("0.78");
    const r = evaluate(s, intent({ limitPrice: "0.99" }), l);
    expect(r.reasons).toEqual([
      expect.objectContaining({ code: "PRICE_COLLAR_EXCEEDED", observed: "0.9900", limit: "0.8580" }),
    ]);
    expect(r.reasons[0]!.message).toBe(
      "PRICE_COLLAR_EXCEEDED: buy at 0.9900 is above mark 0.7800 + 0.0780 (10.0000%, at least 0.0500) = 0.8580",
    );
    expect(evaluate(s, intent({ limitPrice: "0.85" }), l).approved).toBe(true);
    expect(codes(evaluate(s, intent({ limitPrice: "0.86" }), l))).toEqual(["PRICE_COLLAR_EXCEEDED"]);
    // A sell is collared below: 0.78 − 0.078 = 0.702.
    expect(evaluate(s, intent({ side: "sell", limitPrice: "0.71" }), l).approved).toBe(true);
    expect(evaluate(s, intent({ side: "sell", limitPrice: "0.70" }), l).reasons).toEqual([
      expect.objectContaining({ code: "PRICE_COLLAR_EXCEEDED", observed: "0.7000", limit: "0.7020" }),
    ]);
    // A passive price far from the market cannot fill worse than its limit: not collared.
    expect(evaluate(s, intent({ limitPrice: "0.05" }), l).approved).toBe(true);
  });

  it("the collar is at least the minimum: at 0.10 it is ±0.05", () => {
    const s = marked("0.10");
    expect(evaluate(s, intent({ limitPrice: "0.15" }), l).approved).toBe(true);
    expect(evaluate(s, intent({ limitPrice: "0.16" }), l).reasons).toEqual([
      expect.objectContaining({ code: "PRICE_COLLAR_EXCEEDED", observed: "0.1600", limit: "0.1500" }),
    ]);
  });

  it("also around the book's far side, from the intent or from risk's own mark", () => {
    const s = marked("0.78", { bestBid: "0.77", bestAsk: "0.79" });
    expect(evaluate(s, intent({ limitPrice: "0.85" }), l).approved).toBe(true);
    // The strategy saw the ask at 0.70: 0.70 + 0.07 = 0.77 caps its buy.
    const r = evaluate(s, intent({ limitPrice: "0.85", farSidePrice: "0.70" }), l);
    expect(r.reasons).toEqual([
      expect.objectContaining({ code: "PRICE_COLLAR_EXCEEDED", observed: "0.8500", limit: "0.7700" }),
    ]);
    expect(r.reasons[0]!.message).toMatch(/above the intent's best ask 0\.7000 \+ 0\.0700/);
    // Risk's own bid at 0.60 floors a sell at 0.54 (and the mark at 0.65 − 0.065 = 0.585).
    const t = marked("0.65", { bestBid: "0.60", bestAsk: "0.70" });
    expect(evaluate(t, intent({ side: "sell", limitPrice: "0.59" }), l).approved).toBe(true);
    const sell = evaluate(t, intent({ side: "sell", limitPrice: "0.53" }), l);
    expect(sell.reasons.map((x) => [x.code, x.observed, x.limit])).toEqual([
      ["PRICE_COLLAR_EXCEEDED", "0.5300", "0.5850"],
      ["PRICE_COLLAR_EXCEEDED", "0.5300", "0.5400"],
    ]);
    expect(sell.reasons[1]!.message).toMatch(/below best bid 0\.6000 − 0\.0600/);
  });

  it("reduce and close orders are not collared (de-risking is always possible)", () => {
    const s = marked("0.78");
    fill(s, "s1", "MKT-A", "buy", 100, "0.78");
    expect(
      evaluate(s, intent({ side: "sell", effect: "close", quantity: 100, limitPrice: "0.01" }), l).approved,
    ).toBe(true);
  });

  it("widening the collar is raising a limit", () => {
    const base = isolatedLimits({ priceCollarPct: "10", priceCollarMinimum: "0.05" });
    expect(raisedLimits(base, { ...base, priceCollarPct: "12" })).toEqual(["priceCollarPct"]);
    expect(raisedLimits(base, { ...base, priceCollarMinimum: "0.06" })).toEqual(["priceCollarMinimum"]);
    expect(raisedLimits(base, { ...base, priceCollarPct: "5", priceCollarMinimum: "0.01" })).toEqual([]);
    // Absent fields are the defaults (10 %, $0.05).
    const { priceCollarPct: _p, priceCollarMinimum: _m, ...older } = base;
    expect(raisedLimits(older, base)).toEqual([]);
    expect(raisedLimits(older, { ...base, priceCollarPct: "10.0001" })).toEqual(["priceCollarPct"]);
  });

  it("property: an approved opening buy is never above the mark plus the collar (oracle: exact rationals)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 20 }),
        (markCents, limitCents, pct, minCents) => {
          const s = marked(`0.${String(markCents).padStart(2, "0")}`);
          const limits = isolatedLimits({
            priceCollarPct: String(pct),
            priceCollarMinimum: `0.${String(minCents).padStart(2, "0")}`,
          });
          const r = evaluate(s, intent({ limitPrice: `0.${String(limitCents).padStart(2, "0")}` }), limits);
          // limit ≤ mark + max(mark × pct / 100, min)  ⇔  100·limit ≤ 100·mark + max(mark·pct, 100·min)
          const inside = 100 * limitCents <= 100 * markCents + Math.max(markCents * pct, 100 * minCents);
          expect(codes(r).includes("PRICE_COLLAR_EXCEEDED")).toBe(!inside);
        },
      ),
      { numRuns: 500 },
    );
  });
});
