// The fast path's schedule as values: which traded markets a tick refreshes, in what order, under what budget.
import type { TradedMarket } from "@paulp/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FAST_PATH, type FastPathConfig, planTick, tradedKey } from "../src/fast/schedule";

const kalshi = (id: string): TradedMarket => ({
  venue: "kalshi",
  market: id,
  why: "pair_leg",
  category: null,
});
const poly = (id: string): TradedMarket => ({
  venue: "polymarket",
  market: id,
  why: "pair_leg",
  category: null,
});
const ibkr = (conid: number): TradedMarket => ({
  venue: "ibkr",
  market: String(conid),
  why: "hedge",
  category: "Economics",
});
const NOW = 1_800_000_000_000;
const SMALL: FastPathConfig = {
  ...FAST_PATH,
  requestsPerTick: { kalshi: 2, polymarket: 1, ibkr: 1 },
  conidsPerCall: 2,
};

describe("planTick", () => {
  it("refreshes what was never refreshed first, then the oldest, and leaves the recent alone", () => {
    const traded = [kalshi("A"), kalshi("B"), kalshi("C"), kalshi("D")];
    const at = new Map([
      ["kalshi:A", NOW - 14_000], // due: one more tick would pass 15 s
      ["kalshi:B", NOW - 30_000], // overdue
      ["kalshi:C", NOW - 2_000], // fresh
    ]);
    const plan = planTick(traded, at, NOW, {
      ...SMALL,
      requestsPerTick: { ...SMALL.requestsPerTick, kalshi: 10 },
    });
    expect(plan.books.map((m) => m.market)).toEqual(["D", "B", "A"]);
    expect(plan.deferred).toBe(0);
  });

  it("spends at most each venue's budget and counts what it leaves for the next tick", () => {
    const traded = [kalshi("A"), kalshi("B"), kalshi("C"), poly("p1"), poly("p2"), ibkr(1), ibkr(2), ibkr(3)];
    const plan = planTick(traded, new Map(), NOW, SMALL);
    expect(plan.books.filter((m) => m.venue === "kalshi")).toHaveLength(2);
    expect(plan.books.filter((m) => m.venue === "polymarket")).toHaveLength(1);
    // One snapshot call a tick, two conids a call.
    expect(plan.snapshots).toEqual([[ibkr(1), ibkr(2)]]);
    expect(plan.deferred).toBe(3);
  });

  it("never plans more requests than the budget, whatever the traded set and its ages (property)", () => {
    const market = fc.oneof(
      fc.integer({ min: 1, max: 40 }).map((i) => kalshi(`K${i}`)),
      fc.integer({ min: 1, max: 40 }).map((i) => poly(`P${i}`)),
      fc.integer({ min: 1, max: 400 }).map(ibkr),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(market, { selector: tradedKey, maxLength: 200 }),
        fc.array(fc.nat(60_000)),
        (traded, ages) => {
          const at = new Map(traded.map((m, i) => [tradedKey(m), NOW - (ages[i] ?? 0)] as const));
          const plan = planTick(traded, at, NOW);
          const n = (v: string) => plan.books.filter((m) => m.venue === v).length;
          expect(n("kalshi")).toBeLessThanOrEqual(FAST_PATH.requestsPerTick.kalshi);
          expect(n("polymarket")).toBeLessThanOrEqual(FAST_PATH.requestsPerTick.polymarket);
          expect(plan.snapshots.length).toBeLessThanOrEqual(FAST_PATH.requestsPerTick.ibkr);
          for (const s of plan.snapshots) expect(s.length).toBeLessThanOrEqual(FAST_PATH.conidsPerCall);
          const planned = plan.books.length + plan.snapshots.flat().length;
          const due = traded.filter(
            (m) => NOW + FAST_PATH.tickMs - (at.get(tradedKey(m)) ?? -Infinity) > FAST_PATH.refreshEveryMs,
          );
          expect(planned + plan.deferred).toBe(due.length);
        },
      ),
    );
  });

  it("within budget, every traded market's mark is never older than refreshEveryMs + one tick (ten simulated minutes)", () => {
    // 60 Kalshi legs, 60 Polymarket legs, 20 hedge instruments: what the budget covers at a 15 s cycle.
    const traded = [
      ...Array.from({ length: 60 }, (_, i) => kalshi(`K${i}`)),
      ...Array.from({ length: 60 }, (_, i) => poly(`P${i}`)),
      ...Array.from({ length: 20 }, (_, i) => ibkr(1000 + i)),
    ];
    const at = new Map<string, number>();
    let worst = 0;
    for (let t = NOW; t < NOW + 600_000; t += FAST_PATH.tickMs) {
      for (const m of traded) {
        const last = at.get(tradedKey(m));
        if (last !== undefined) worst = Math.max(worst, t - last);
      }
      const plan = planTick(traded, at, t);
      for (const m of [...plan.books, ...plan.snapshots.flat()]) at.set(tradedKey(m), t);
    }
    expect(worst).toBeLessThanOrEqual(FAST_PATH.refreshEveryMs + FAST_PATH.tickMs);
    // Far under half of risk's 120 s limit.
    expect(worst).toBeLessThan(60_000);
  });

  it("the per-tick budgets stay under the venues' documented limits beside the crawl", () => {
    const perSecond = (n: number) => (n * 1000) / FAST_PATH.tickMs;
    // Kalshi Basic tier: 20 reads/s for the crawl (10/s) and the fast path together.
    expect(perSecond(FAST_PATH.requestsPerTick.kalshi) + 10).toBeLessThanOrEqual(20);
    // Polymarket CLOB /book: 1,500 per 10 s.
    expect(perSecond(FAST_PATH.requestsPerTick.polymarket)).toBeLessThanOrEqual(150);
  });
});
