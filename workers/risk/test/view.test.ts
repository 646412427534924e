import type { OrderIntent, Venue } from "@paulp/contracts";
import { parseDollars } from "@paulp/kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyFillEverywhere } from "../src/fills";
import { applyMarksEverywhere } from "../src/marks";
import { positionKey, updateWatermarks, valuation } from "../src/portfolio";
import {
  buildView,
  moveReservationInView,
  type Reservation,
  type RiskView,
  reserveInView,
} from "../src/view";
import { HASH, NOW, normalView, portfolio } from "./helpers";

// The oracle of the incremental view is the full rebuild: after any sequence of marks, fills, reservations and
// their releases, the view updated in place equals `buildView` of the same portfolio and reservations.

const MARKETS: [Venue, string][] = [
  ["kalshi", "K0"],
  ["kalshi", "K1"],
  ["polymarket", "P0"],
  ["ibkr", "I0"],
];
const STRATEGIES = ["s0", "s1", "s2"];
const COIDS = ["c0", "c1", "c2", "c3"];
const price = (tenths: number) => (tenths / 10_000).toFixed(4); // 0.0001 .. 0.9999

const marketArb = fc.integer({ min: 0, max: MARKETS.length - 1 });
const markArb = (priced: boolean) =>
  fc.record({
    kind: fc.constant("mark" as const),
    market: marketArb,
    price: priced
      ? fc.integer({ min: 1, max: 9_999 }).map(price)
      : fc.option(fc.integer({ min: 1, max: 9_999 }).map(price), { freq: 5 }),
    category: fc.option(fc.constantFrom("politics", "sports", "weather"), { freq: 3 }),
    // Some older than the stored mark (ignored), some the same time, most newer.
    ageMs: fc.integer({ min: -2_000, max: 60_000 }),
  });
const fillArb = fc.record({
  kind: fc.constant("fill" as const),
  fillId: fc.integer({ min: 0, max: 40 }).map((n) => `f${n}`),
  strategyId: fc.constantFrom(...STRATEGIES),
  market: marketArb,
  side: fc.constantFrom("buy" as const, "sell" as const),
  quantity: fc.integer({ min: 1, max: 4_000 }).map((h) => h / 100),
  price: fc.integer({ min: 100, max: 9_900 }).map(price),
  fee: fc.integer({ min: 0, max: 500 }).map((n) => (n / 10_000).toFixed(4)),
  clientOrderId: fc.constantFrom(...COIDS),
});
const reserveArb = fc.record({
  kind: fc.constant("reserve" as const),
  strategyId: fc.constantFrom(...STRATEGIES),
  market: marketArb,
  side: fc.constantFrom("buy" as const, "sell" as const),
  quantity: fc.integer({ min: 1, max: 3_000 }).map((h) => h / 100),
  limitPrice: fc.integer({ min: 100, max: 9_900 }).map(price),
  reduces: fc.boolean(),
  clientOrderId: fc.constantFrom(...COIDS),
});
const releaseArb = fc.record({
  kind: fc.constant("release" as const),
  clientOrderId: fc.constantFrom(...COIDS),
});
const expireArb = fc.record({ kind: fc.constant("expire" as const), nth: fc.nat({ max: 10 }) });
const opsArb = (priced: boolean) =>
  fc.array(fc.oneof(markArb(priced), fillArb, reserveArb, releaseArb, expireArb), {
    minLength: 1,
    maxLength: 60,
  });

type Ops = ReturnType<typeof opsArb> extends fc.Arbitrary<infer T> ? T : never;

/** Run `ops` as the Durable Object does; answers how often the view had to be rebuilt. */
function run(ops: Ops, markFirst: boolean): number {
  const state = portfolio("10000.00");
  const reservations: Record<string, Reservation> = {};
  let clock = NOW - 120_000;
  if (markFirst) {
    const first = MARKETS.map(([venue, market], k) => ({
      venue,
      market,
      price: "0.5000",
      category: k % 2 === 0 ? "politics" : "sports",
      evidenceHash: HASH,
      observedAt: new Date(clock + k).toISOString(),
    }));
    applyMarksEverywhere(state, reservations, null, first);
  }
  let view: RiskView | null = buildView(state, Object.values(reservations));
  let rebuilds = 0;
  let seq = 0;
  for (const op of ops) {
    if (op.kind === "mark") {
      const [venue, market] = MARKETS[op.market]!;
      clock += 1_000;
      const update = {
        venue,
        market,
        price: op.price,
        category: op.category,
        evidenceHash: HASH,
        observedAt: new Date(clock - op.ageMs).toISOString(),
      };
      view = applyMarksEverywhere(state, reservations, view, [update]).view;
    } else if (op.kind === "fill") {
      const [venue, market] = MARKETS[op.market]!;
      const { kind: _, market: _m, ...rest } = op;
      const fill = { ...rest, venue, market, ts: new Date(clock).toISOString() };
      view = applyFillEverywhere(state, reservations, view, fill, clock).view;
    } else if (op.kind === "reserve") {
      const [venue, market] = MARKETS[op.market]!;
      const delta = Math.round(op.quantity * 100) * (op.side === "buy" ? 1 : -1);
      const intent: OrderIntent = {
        strategyId: op.strategyId,
        venue,
        market,
        side: op.side,
        effect: op.reduces ? "reduce" : "increase",
        quantity: op.quantity,
        limitPrice: op.limitPrice,
        clientOrderId: op.clientOrderId,
        evidenceHashes: [HASH],
      };
      reservations[`rd_${seq++}`] = {
        posKey: positionKey(op.strategyId, venue, market),
        venue,
        market,
        qty: delta,
        clientOrderId: op.clientOrderId,
        expiresAtMs: clock + 30_000,
        ...(op.reduces ? { reduces: true } : { priceUnits: parseDollars(op.limitPrice) }),
      };
      if (view && !reserveInView(view, intent, delta, op.reduces)) view = null;
    } else {
      // Released (the order ended) or expired: the Durable Object's `dropReservations`.
      const ids = Object.keys(reservations);
      const which =
        op.kind === "release"
          ? ids.filter((id) => reservations[id]!.clientOrderId === op.clientOrderId)
          : ids.slice(op.nth, op.nth + 1);
      for (const id of which) {
        const r = reservations[id]!;
        delete reservations[id];
        if (view && !moveReservationInView(view, r, r.qty, 0)) view = null;
      }
    }
    if (!view) {
      rebuilds++;
      view = buildView(state, Object.values(reservations));
    }
    // The watermarks follow equity after every change (the Durable Object's `checkLoss`).
    updateWatermarks(state, view.equity ?? valuation(state).equity, clock);
    view.dayStartEquity = state.dayStartEquity;
    view.highWaterMark = state.highWaterMark;
    expect(normalView(view)).toEqual(normalView(buildView(state, Object.values(reservations))));
  }
  return rebuilds;
}

describe("the view updated in place equals a full rebuild", () => {
  it("after any sequence of marks (some unpriced), fills, reservations, releases and expiries (property)", () => {
    fc.assert(
      fc.property(opsArb(false), fc.boolean(), (ops, markFirst) => {
        run(ops, markFirst);
      }),
      { numRuns: 400 },
    );
  });

  it("is never rebuilt while every market is priced: each change touches only what it changed (property)", () => {
    fc.assert(
      fc.property(opsArb(true), (ops) => {
        expect(run(ops, true)).toBe(0);
      }),
      { numRuns: 400 },
    );
  });

  it("a mark revalues its own market only, and moves its exposure to the category it now names", () => {
    const state = portfolio("10000.00");
    const at = (ms: number) => new Date(ms).toISOString();
    const m = (market: string, p: string, category: string | null, ms: number) => ({
      venue: "kalshi" as const,
      market,
      price: p,
      category,
      evidenceHash: HASH,
      observedAt: at(ms),
    });
    applyMarksEverywhere(state, {}, null, [
      m("A", "0.4000", "politics", NOW - 5000),
      m("B", "0.6000", "sports", NOW - 9000),
    ]);
    const base = {
      strategyId: "s0",
      venue: "kalshi" as const,
      side: "buy" as const,
      fee: "0",
      clientOrderId: "c",
      ts: at(NOW),
    };
    let view: RiskView | null = buildView(state, []);
    for (const [fillId, market, quantity, p] of [
      ["a", "A", 10, "0.4000"],
      ["b", "B", 5, "0.6000"],
    ] as const)
      view = applyFillEverywhere(state, {}, view, { ...base, fillId, market, quantity, price: p }, NOW).view;
    expect(view?.oldestHeldMarkMs).toBe(NOW - 9000);
    const effect = applyMarksEverywhere(state, {}, view, [
      m("B", "0.7000", null, NOW - 1000),
      m("A", "0.4000", "weather", NOW - 2000),
    ]);
    expect(effect.changed).toEqual(["kalshi:B", "kalshi:A"]);
    expect(effect.view).toBe(view);
    // B: 5 × 0.70 and its category kept (a mark without one does not erase it); A moved to weather.
    expect(Object.fromEntries(view!.categoryExposure)).toMatchObject({
      sports: 3_500_000,
      weather: 4_000_000,
      politics: 0,
    });
    expect(view!.equity).toBe(10_000_000_000 + 500_000);
    expect(view!.oldestHeldMarkMs).toBe(NOW - 2000);
    // A malformed mark in the batch restores every mark it touched and leaves the view as it was.
    const before = JSON.stringify(state.marks);
    const bad = applyMarksEverywhere(state, {}, view, [
      m("A", "0.9000", null, NOW),
      m("B", "2.0000", null, NOW),
    ]);
    expect(bad.error).toMatch(/kalshi:B/);
    expect(JSON.stringify(state.marks)).toBe(before);
    expect(normalView(view!)).toEqual(normalView(buildView(state, [])));
  });
});
