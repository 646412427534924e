// The hedge decision (src/hedge.ts), pure: which instrument, how many shares, which effect, and a limit that
// follows the instrument's current mark inside the map's hard bounds, or no order at all (never a blind price).
import type { HeldMarkAnswer, Result } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { type HedgeEntry, hedgeEntryFor, parseHedgeMap, planHedge } from "../src/hedge";

const NOW = Date.parse("2026-12-02T16:00:00.000Z");
const EVIDENCE = "a".repeat(64);
const MARK_EVIDENCE = "b".repeat(64);

const entry = (over: Partial<HedgeEntry> = {}): HedgeEntry => ({
  conid: 265598,
  ratio: "0.5",
  direction: "opposite",
  buyLimit: "160.00",
  sellLimit: "140.00",
  ...over,
});
const fill = (side: "buy" | "sell", filled: number) => ({
  side,
  filled,
  strategyId: "s",
  evidenceHashes: [EVIDENCE],
});
/** Risk's answer: a mark of `price` observed `ageSeconds` before NOW, under a 120 s freshness limit. */
const marked = (price: string | null, ageSeconds = 3): Result<HeldMarkAnswer> => ({
  ok: true,
  value: {
    mark: {
      venue: "ibkr",
      market: "265598",
      price,
      observedAt: new Date(NOW - ageSeconds * 1000).toISOString(),
      evidenceHash: MARK_EVIDENCE,
    },
    maxMarkAgeSeconds: 120,
  },
});
const plan = (e: HedgeEntry, f: ReturnType<typeof fill>, position: number, mark: Result<HeldMarkAnswer>) =>
  planHedge(e, f, "pp-hedge-1", position, mark, NOW);

describe("a hedge's limit follows the instrument's mark", () => {
  it("sells at mark × (1 − slippage) rounded up to the tick, citing the fill's and the mark's evidence", () => {
    // Buying YES is hedged by selling ("opposite"), half a share per contract: 9 → 4.
    const p = plan(entry(), fill("buy", 9), 0, marked("152.3350"));
    expect(p).toMatchObject({
      kind: "order",
      intent: {
        venue: "ibkr",
        market: "265598",
        side: "sell",
        effect: "open",
        quantity: 4,
        // 152.3350 × 0.995 = 151.573325 → up to the cent: 151.58 (never further through the mark).
        limitPrice: "151.5800",
        clientOrderId: "pp-hedge-1",
        evidenceHashes: [EVIDENCE, MARK_EVIDENCE],
      },
    });
    if (p?.kind === "order") expect(p.pricing).toBe("mark 152.3350 (age 3s) − 0.5 % → 151.5800");
  });

  it("buys at mark × (1 + slippage) rounded down to the tick, with the entry's slippage and tick", () => {
    const p = plan(
      entry({ direction: "same", slippagePct: "1", tick: "0.05" }),
      fill("buy", 4),
      0,
      marked("150.0000"),
    );
    // 150 × 1.01 = 151.50, on the 0.05 tick already.
    expect(p).toMatchObject({
      kind: "order",
      intent: { side: "buy", effect: "open", quantity: 2, limitPrice: "151.5000" },
    });
    const q = plan(entry({ direction: "same", tick: "0.05" }), fill("buy", 4), 0, marked("150.0300"));
    // 150.03 × 1.005 = 150.78015 → down to the 0.05 tick: 150.75.
    expect(q).toMatchObject({ kind: "order", intent: { limitPrice: "150.7500" } });
  });

  it("follows the mark past where the old fixed limits were (the map's limits are bounds, not the price)", () => {
    // The mark rose from ~148 to 158: the old fixed buy at 150.00 would never fill; the mark-following one is
    // 158.79, under the 160.00 bound.
    expect(plan(entry({ direction: "same" }), fill("buy", 2), 0, marked("158.0000"))).toMatchObject({
      kind: "order",
      intent: { side: "buy", limitPrice: "158.7900" },
    });
  });

  it("holds the price to the bound, and places nothing when the bound keeps it from reaching the mark", () => {
    // 159.50 × 1.005 = 160.2975 → held to buyLimit 160.00, still above the mark: placed, and said so.
    const held = plan(entry({ direction: "same" }), fill("buy", 2), 0, marked("159.5000"));
    expect(held).toMatchObject({ kind: "order", intent: { limitPrice: "160.0000" } });
    if (held?.kind === "order") expect(held.pricing).toContain("held to buyLimit 160.00");
    // A mark above buyLimit: a buy at 160.00 could not fill.
    expect(plan(entry({ direction: "same" }), fill("buy", 2), 0, marked("161.0000"))).toEqual({
      kind: "not_placed",
      conid: "265598",
      reason:
        "hedge buy 1 ibkr:265598 not placed: the mark 161.0000 is above what the map's buyLimit 160.00 lets a buy reach (unmarketable at the bound)",
    });
    // A mark below sellLimit: a sell at 140.00 could not fill.
    expect(plan(entry(), fill("buy", 2), 0, marked("139.9900"))).toMatchObject({
      kind: "not_placed",
      reason: expect.stringContaining(
        "the mark 139.9900 is below what the map's sellLimit 140.00 lets a sell reach",
      ),
    });
    // At the bound exactly: 140.00 × 0.995 = 139.30 → held to 140.00, which reaches the mark.
    expect(plan(entry(), fill("buy", 2), 0, marked("140.0000"))).toMatchObject({
      kind: "order",
      intent: { side: "sell", limitPrice: "140.0000" },
    });
  });

  it("places nothing without a fresh mark: none held, no price, stale, from the future, or unreadable", () => {
    const none: Result<HeldMarkAnswer> = { ok: true, value: { mark: null, maxMarkAgeSeconds: 120 } };
    expect(plan(entry(), fill("buy", 9), 0, none)).toEqual({
      kind: "not_placed",
      conid: "265598",
      reason: "hedge sell 4 ibkr:265598 not placed: risk holds no mark for it",
    });
    expect(plan(entry(), fill("buy", 9), 0, marked(null))).toMatchObject({
      reason: expect.stringContaining("its mark has no price"),
    });
    // Risk's limit is inclusive: 120 s old is fresh, 121 s is stale.
    expect(plan(entry(), fill("buy", 9), 0, marked("148.0000", 120))).toMatchObject({ kind: "order" });
    expect(plan(entry(), fill("buy", 9), 0, marked("148.0000", 121))).toMatchObject({
      kind: "not_placed",
      reason: expect.stringContaining("its mark is stale (age 121s, limit 120s)"),
    });
    expect(plan(entry(), fill("buy", 9), 0, marked("148.0000", -60))).toMatchObject({
      kind: "not_placed",
      reason: expect.stringContaining("is not a past time"),
    });
    const down: Result<HeldMarkAnswer> = {
      ok: false,
      error: { code: "service_unavailable", message: "risk unreachable" },
    };
    expect(plan(entry(), fill("buy", 9), 0, down)).toMatchObject({
      kind: "not_placed",
      reason: expect.stringContaining("its mark could not be read (service_unavailable: risk unreachable)"),
    });
  });

  it("follows the strategy's hedge position: increase, reduce, and close at flat instead of crossing it", () => {
    const m = marked("148.0000");
    // Already short 4 (an earlier hedge): another buy on Kalshi hedges by selling more.
    expect(plan(entry(), fill("buy", 9), -4, m)).toMatchObject({
      intent: { side: "sell", effect: "increase", quantity: 4, limitPrice: "147.2600" },
    });
    // Kalshi sold 4: buy back 2 of the 4 short, at the mark-following buy price (148 × 1.005 = 148.74).
    expect(plan(entry(), fill("sell", 4), -4, m)).toMatchObject({
      intent: { side: "buy", effect: "reduce", quantity: 2, limitPrice: "148.7400" },
    });
    // Kalshi sold 20: the hedge would buy 10 but stops at flat (4), never opening a long in the same order.
    expect(plan(entry(), fill("sell", 20), -4, m)).toMatchObject({
      intent: { side: "buy", effect: "close", quantity: 4 },
    });
    // A reduce or close is priced from the mark too: without one, nothing is placed.
    expect(plan(entry(), fill("sell", 20), -4, marked("148.0000", 600))).toMatchObject({
      kind: "not_placed",
    });
  });

  it("places nothing for a fill that rounds to no share, whatever the mark", () => {
    expect(
      plan(entry(), fill("buy", 1), 0, { ok: true, value: { mark: null, maxMarkAgeSeconds: 120 } }),
    ).toBeNull();
  });
});

describe("the hedge map", () => {
  const { map } = parseHedgeMap(
    JSON.stringify({
      KXA: { conid: 1, ratio: "0.5", direction: "opposite", buyLimit: "110.00", sellLimit: "90.00" },
      "category:Economics": { conid: 2, ratio: "1", direction: "same", buyLimit: "10", sellLimit: "5" },
    }),
  );
  it("finds a fill's entry by its ticker first, then its category, else none", () => {
    expect(hedgeEntryFor(map, "KXA", "Economics")?.conid).toBe(1);
    expect(hedgeEntryFor(map, "KXB", "Economics")?.conid).toBe(2);
    expect(hedgeEntryFor(map, "KXB", null)).toBeNull();
    expect(hedgeEntryFor(map, "KXB", "Politics")).toBeNull();
  });
  it("refuses a malformed map, a slippage of 5 % or more, and a zero tick", () => {
    const one = (e: Record<string, unknown>) =>
      parseHedgeMap(
        JSON.stringify({
          X: { conid: 1, ratio: "1", direction: "same", buyLimit: "2", sellLimit: "1", ...e },
        }),
      );
    expect(one({}).error).toBeNull();
    expect(one({ slippagePct: "4.9999", tick: "0.0001" }).error).toBeNull();
    expect(one({ slippagePct: "5" }).error).toContain("slippagePct must be under 5");
    expect(one({ tick: "0" }).error).toContain("tick must be positive");
    expect(parseHedgeMap('{"X":{"conid":-1}}').error).not.toBeNull();
    expect(parseHedgeMap("nope").map).toEqual({});
  });
});
