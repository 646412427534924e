import type { OrderIntent, Venue } from "@paulp/contracts";
import { parseDollars } from "@paulp/kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyFillEverywhere } from "../src/fills";
import { type CorrelationIndex, correlatedWith, correlationIndex } from "../src/limit-rules";
import { applyMarksEverywhere } from "../src/marks";
import { marketKey, positionKey, updateWatermarks, valuation } from "../src/portfolio";
import {
  buildView,
  moveReservationInView,
  type Reservation,
  type RiskView,
  reserveInView,
} from "../src/view";
import { correlatedExposure, regroupView } from "../src/view-groups";
import { HASH, NOW, normalView, portfolio } from "./helpers";

// The oracle of the incremental view is the full rebuild: after any sequence of marks, fills, reservations and
// their releases, and changes of the limits' correlation groups, the view updated in place equals `buildView` of
// the same portfolio, reservations and groups; and each market's correlated total equals the sum of its set.

const MARKETS: [Venue, string][] = [
  ["kalshi", "K0"],
  ["kalshi", "K1"],
  ["polymarket", "P0"],
  ["ibkr", "I0"],
];
const STRATEGIES = ["s0", "s1", "s2"];
const COIDS = ["c0", "c1", "c2", "c3"];
/** Market keys groups may name: every traded market, and one never marked. */
const GROUPABLE = [...MARKETS.map(([venue, market]) => marketKey(venue, market)), "kalshi:UNSEEN"];
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
/** Correlation groups over the markets: none, disjoint or overlapping (a market in two groups). */
const groupsArb = fc
  .array(fc.subarray(GROUPABLE, { minLength: 1 }), { maxLength: 3 })
  .map((gs) => Object.fromEntries(gs.map((members, g) => [`g${g}`, members])));
const regroupArb = fc.record({ kind: fc.constant("regroup" as const), groups: groupsArb });
const opsArb = (priced: boolean) =>
  fc.array(fc.oneof(markArb(priced), fillArb, reserveArb, releaseArb, expireArb, regroupArb), {
    minLength: 1,
    maxLength: 60,
  });

type Ops = ReturnType<typeof opsArb> extends fc.Arbitrary<infer T> ? T : never;

/** Each market's correlated exposure, summed over its set from the market figures (the check's own oracle). */
function summedGroups(view: RiskView, groups: CorrelationIndex): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const mk of GROUPABLE) {
    let sum = 0;
    for (const k of correlatedWith(groups, mk)) sum += view.marketExposure.get(k) ?? 0;
    sums[mk] = sum;
  }
  return sums;
}

/** Run `ops` as the Durable Object does; answers how often the view had to be rebuilt. */
function run(ops: Ops, markFirst: boolean, initialGroups: Record<string, string[]>): number {
  let groups = correlationIndex(initialGroups);
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
  let view: RiskView | null = buildView(state, Object.values(reservations), groups);
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
    } else if (op.kind === "regroup") {
      // The limits changed: the governor's `currentView` keeps the totals for the new groups.
      groups = correlationIndex(op.groups);
      if (view) regroupView(view, groups);
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
      view = buildView(state, Object.values(reservations), groups);
    }
    // The watermarks follow equity after every change (the Durable Object's `checkLoss`).
    updateWatermarks(state, view.equity ?? valuation(state).equity, clock);
    view.dayStartEquity = state.dayStartEquity;
    view.highWaterMark = state.highWaterMark;
    const rebuilt = buildView(state, Object.values(reservations), groups);
    expect(normalView(view)).toEqual(normalView(rebuilt));
    // The running group totals, read as the check reads them, equal the sums over each set; so does a view
    // that keeps no totals (it sums).
    expect(view.groups).toBe(groups);
    const read = Object.fromEntries(GROUPABLE.map((mk) => [mk, correlatedExposure(view!, groups, mk)]));
    expect(read).toEqual(summedGroups(rebuilt, groups));
    const plain = buildView(state, Object.values(reservations));
    expect(Object.fromEntries(GROUPABLE.map((mk) => [mk, correlatedExposure(plain, groups, mk)]))).toEqual(
      read,
    );
  }
  return rebuilds;
}

describe("the view updated in place equals a full rebuild", () => {
  it("after any sequence of marks (some unpriced), fills, reservations, releases, expiries and regroupings (property)", () => {
    fc.assert(
      fc.property(opsArb(false), fc.boolean(), groupsArb, (ops, markFirst, groups) => {
        run(ops, markFirst, groups);
      }),
      { numRuns: 400 },
    );
  });

  it("is never rebuilt while every market is priced: each change touches only what it changed (property)", () => {
    fc.assert(
      fc.property(opsArb(true), groupsArb, (ops, groups) => {
        expect(run(ops, true, groups)).toBe(0);
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

  it("a market's correlated set is itself and every market sharing a group with it (property)", () => {
    fc.assert(
      fc.property(groupsArb, (groups) => {
        const index = correlationIndex(groups);
        for (const mk of GROUPABLE) {
          const expected = new Set([mk]);
          for (const members of Object.values(groups))
            if (members.includes(mk)) for (const k of members) expected.add(k);
          expect(new Set(correlatedWith(index, mk))).toEqual(expected);
          // Every set it is in names it, and only those.
          const memberOf = index.sets.flatMap((set, n) => (set.includes(mk) ? [n] : []));
          expect(index.memberOf.get(mk) ?? []).toEqual(memberOf);
        }
      }),
      { numRuns: 300 },
    );
  });
});
