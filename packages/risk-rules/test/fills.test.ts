import type { FillReport } from "@paulp/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyFillEverywhere } from "../src/fills";
import { positionKey } from "../src/portfolio";
import { buildView, type Reservation, type RiskView } from "../src/view";
import { mark, NOW, normalView as normal, portfolio } from "./helpers";

const MARKETS = ["M0", "M1", "M2"];
const STRATEGIES = ["s0", "s1"];
const COIDS = ["c0", "c1", "c2", "c3", "c4"];

const cents = (n: number) => `0.${String(n).padStart(2, "0")}00`;

const fillArb = fc.record({
  fillId: fc.integer({ min: 0, max: 30 }).map((n) => `f${n}`),
  strategyId: fc.constantFrom(...STRATEGIES),
  market: fc.constantFrom(...MARKETS),
  side: fc.constantFrom("buy" as const, "sell" as const),
  // Contracts exact to 0.01 (Kalshi fills fractions): the view must stay exact through them.
  quantity: fc.integer({ min: 1, max: 4_000 }).map((h) => h / 100),
  price: fc.integer({ min: 1, max: 99 }).map(cents),
  fee: fc.integer({ min: 0, max: 500 }).map((n) => `0.${String(n).padStart(4, "0")}`),
  clientOrderId: fc.constantFrom(...COIDS),
});

const reservationArb = fc.record({
  strategyId: fc.constantFrom(...STRATEGIES),
  market: fc.constantFrom(...MARKETS),
  // Hundredths of a contract.
  qty: fc.integer({ min: -3_000, max: 3_000 }).filter((q) => q !== 0),
  clientOrderId: fc.constantFrom(...COIDS),
  // The limit price in cents; 0 stands for a reservation stored before prices were kept.
  cents: fc.integer({ min: 0, max: 99 }),
});

describe("fills update the view incrementally", () => {
  it("equals the view rebuilt from scratch after every fill (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 99 }), { minLength: 3, maxLength: 3 }),
        fc.boolean(),
        fc.array(reservationArb, { maxLength: 6 }),
        fc.array(fillArb, { minLength: 1, maxLength: 40 }),
        (prices, oneUnpriced, resv, fills) => {
          const state = portfolio("10000.00");
          for (const [k, m] of MARKETS.entries())
            mark(state, m, oneUnpriced && k === 2 ? null : cents(prices[k]!), {
              category: `cat${k % 2}`,
              observedAtMs: NOW - 1000 - k * 100,
            });
          const reservations: Record<string, Reservation> = {};
          resv.forEach((r, k) => {
            reservations[`rd_${k}`] = {
              posKey: positionKey(r.strategyId, "kalshi", r.market),
              venue: "kalshi",
              market: r.market,
              qty: r.qty,
              clientOrderId: r.clientOrderId,
              expiresAtMs: NOW + 30_000,
              ...(r.cents > 0 ? { priceUnits: r.cents * 10_000 } : {}),
            };
          });
          let view: RiskView | null = buildView(state, Object.values(reservations));
          for (const f of fills) {
            const fill: FillReport = { ...f, venue: "kalshi", ts: new Date(NOW).toISOString() };
            const effect = applyFillEverywhere(state, reservations, view, fill, NOW);
            const rebuilt = buildView(state, Object.values(reservations));
            // Dropped only when it cannot be exact: no equity or an unmarked position (closing a market's last
            // position no longer drops it: the oldest held mark comes from the view's heap).
            if (effect.view) expect(normal(effect.view)).toEqual(normal(rebuilt));
            else expect(rebuilt.equity === null || rebuilt.unmarked.length > 0 || oneUnpriced).toBe(true);
            view = effect.view ?? rebuilt;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a duplicate fill id and a malformed price without changing anything", () => {
    const state = portfolio("10000.00");
    mark(state, "M0", "0.5000");
    const view = buildView(state, []);
    const fill: FillReport = {
      fillId: "f1",
      strategyId: "s0",
      venue: "kalshi",
      market: "M0",
      side: "buy",
      quantity: 2,
      price: "0.4000",
      fee: "0.0100",
      clientOrderId: "c0",
      ts: new Date(NOW).toISOString(),
    };
    expect(applyFillEverywhere(state, {}, view, fill, NOW).applied).toBe(true);
    const before = JSON.stringify(state);
    expect(applyFillEverywhere(state, {}, view, fill, NOW)).toMatchObject({ applied: false });
    const bad = applyFillEverywhere(state, {}, view, { ...fill, fillId: "f2", price: "0" }, NOW);
    expect(bad).toMatchObject({ applied: false, error: "price or fee malformed" });
    expect(JSON.stringify(state)).toBe(before);
    expect(normal(view)).toEqual(normal(buildView(state, [])));
  });
});
