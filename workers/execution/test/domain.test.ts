import type { OrderIntent, OrderState, PreTradeCheck, Result, StrategySummary } from "@paulp/contracts";
import { formatDollars, kalshiTakerFee, parseDollars, parseQuantity } from "@paulp/kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { afterRateLimit, BACKOFF_MAX_MS, backoffLeftMs } from "../src/backoff";
import { deriveClientOrderId } from "../src/orders/ids";
import { isTerminal, stateForFills, TRANSITIONS, transition, withdrawal } from "../src/orders/state";
import { applyPolicyChange, effectiveMode, initialPolicy } from "../src/policy";
import { preTradeVerdict } from "../src/pre-trade";
import { computeDrift, expectedPositions, joinExpected } from "../src/reconcile";

const STATES = Object.keys(TRANSITIONS) as OrderState[];

describe("order state table", () => {
  it("terminal states never move; every refusal names the current state", () => {
    fc.assert(
      fc.property(fc.constantFrom(...STATES), fc.constantFrom(...STATES), (from, to) => {
        const t = transition(from, to);
        if (isTerminal(from)) expect(t.ok).toBe(false);
        if (!t.ok) expect(t.message).toContain(from);
        expect(t.ok).toBe(TRANSITIONS[from].includes(to));
      }),
    );
  });

  it("any walk of allowed transitions reaches a terminal state only once and never returns to pending_submit", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...STATES), { maxLength: 30 }), (targets) => {
        let s: OrderState = "pending_submit";
        for (const to of targets) {
          const t = transition(s, to);
          if (t.ok) {
            expect(t.state).not.toBe("pending_submit");
            s = t.state;
          }
        }
        if (isTerminal(s)) expect(TRANSITIONS[s]).toEqual([]);
      }),
    );
  });

  it("only a claim (pending_submit) can be withdrawn: once decided or sent, an order ends in a state", () => {
    const withdrawable = STATES.filter((s) => withdrawal(s).ok);
    expect(withdrawable).toEqual(["pending_submit"]);
    const refused = withdrawal("unknown");
    expect(refused.ok || refused.message).toBe("invalid transition unknown → withdrawn");
  });

  it("maps venue fill numbers to states", () => {
    expect(stateForFills(10, 10, false)).toBe("filled");
    expect(stateForFills(10, 3, true)).toBe("partially_filled");
    expect(stateForFills(10, 0, true)).toBe("submitted");
    expect(stateForFills(10, 3, false)).toBe("cancelled");
  });
});

describe("fees", () => {
  it("computes Kalshi's taker fee rounded up to the cent", () => {
    // 0.07 × 10 × 0.5 × 0.5 = 0.175 → 0.18
    expect(formatDollars(kalshiTakerFee(parseQuantity(10), parseDollars("0.50")), 4, "ceil")).toBe("0.1800");
  });
});

describe("client order ids", () => {
  it("are deterministic per (strategy, decision, leg) and distinct otherwise", async () => {
    const a = await deriveClientOrderId("s", "pair:1", "kalshi");
    expect(a).toBe(await deriveClientOrderId("s", "pair:1", "kalshi"));
    expect(a).not.toBe(await deriveClientOrderId("s", "pair:1", "ibkr"));
    expect(a).not.toBe(await deriveClientOrderId("s", "pair:2", "kalshi"));
    expect(a).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
  });
});

describe("policy", () => {
  it("is live only when global and the strategy are live", () => {
    let p = initialPolicy("t");
    expect(effectiveMode(p, "s")).toBe("paper");
    p = applyPolicyChange(p, { scope: "strategy:s", mode: "live" }, "a", "t");
    expect(effectiveMode(p, "s")).toBe("paper");
    p = applyPolicyChange(p, { scope: "global", mode: "live" }, "a", "t");
    expect(effectiveMode(p, "s")).toBe("live");
    expect(effectiveMode(p, "other")).toBe("paper");
    p = applyPolicyChange(p, { scope: "global", mode: "paper" }, "a", "t");
    expect(effectiveMode(p, "s")).toBe("paper");
    expect(p.version).toBe(3);
  });
});

describe("reconciliation drift", () => {
  const live = (market: string, position: number) => ({
    venue: "kalshi" as const,
    market,
    mode: "live" as const,
    position,
  });
  const order = (market: string, side: "buy" | "sell", remaining: number) => ({
    venue: "kalshi" as const,
    market,
    side,
    remaining,
  });

  it("compares every market either side knows", () => {
    const { drifts, markets } = computeDrift(
      expectedPositions([live("A", 5), live("B", 2)], []),
      [
        { venue: "kalshi", market: "A", position: 5 },
        { venue: "kalshi", market: "C", position: -1 },
      ],
      0,
    );
    expect(markets).toBe(3);
    expect(drifts).toEqual([
      {
        venue: "kalshi",
        market: "B",
        internal: 2,
        venuePosition: 0,
        drift: -2,
        expectedMin: 2,
        expectedMax: 2,
        inFlight: 0,
      },
      {
        venue: "kalshi",
        market: "C",
        internal: 0,
        venuePosition: -1,
        drift: -1,
        expectedMin: 0,
        expectedMax: 0,
        inFlight: 0,
      },
    ]);
  });

  it("tolerates drift up to the tolerance", () => {
    expect(
      computeDrift(
        expectedPositions([{ venue: "ibkr", market: "1", mode: "live", position: 10 }], []),
        [{ venue: "ibkr", market: "1", position: 11 }],
        1,
      ).drifts,
    ).toEqual([]);
  });

  // #13 item 10: an order in flight may or may not have filled at the venue yet.
  it("orders in flight make the expected position a range; drift is a position outside it", () => {
    const expected = expectedPositions(
      [live("A", 2)],
      [order("A", "buy", 5), order("A", "sell", 1), order("B", "sell", 3)],
    );
    for (const [market, position] of [
      ["A", 1],
      ["A", 2],
      ["A", 7],
      ["B", 0],
      ["B", -3],
    ] as const)
      expect(
        computeDrift(expected, [{ venue: "kalshi", market, position }], 0).drifts.filter(
          (d) => d.market === market,
        ),
        `${market}=${position}`,
      ).toEqual([]);
    const outside = computeDrift(
      expected,
      [
        { venue: "kalshi", market: "A", position: 8 },
        { venue: "kalshi", market: "B", position: -4 },
      ],
      0,
    ).drifts;
    expect(outside).toEqual([
      expect.objectContaining({
        market: "A",
        internal: 2,
        drift: 1,
        expectedMin: 1,
        expectedMax: 7,
        inFlight: 2,
      }),
      expect.objectContaining({
        market: "B",
        internal: 0,
        drift: -1,
        expectedMin: -3,
        expectedMax: 0,
        inFlight: 1,
      }),
    ]);
  });

  it("joins the readings before and after the venue answered (an order filled meanwhile)", () => {
    const before = expectedPositions([], [order("A", "buy", 4)]);
    const after = expectedPositions([live("A", 4)], []);
    const joined = joinExpected(before, after);
    for (const position of [0, 4])
      expect(computeDrift(joined, [{ venue: "kalshi", market: "A", position }], 0).drifts).toEqual([]);
    expect(computeDrift(joined, [{ venue: "kalshi", market: "A", position: 5 }], 0).drifts).toEqual([
      expect.objectContaining({ internal: 4, drift: 1, expectedMin: 0, expectedMax: 4 }),
    ]);
    // An order that ended with nothing filled: the market is still expected at zero or up to it.
    const ended = joinExpected(before, expectedPositions([], []));
    expect(computeDrift(ended, [{ venue: "kalshi", market: "A", position: 5 }], 0).drifts).toEqual([
      expect.objectContaining({ internal: 0, drift: 1, expectedMax: 4 }),
    ]);
  });

  it("no order in flight: drift is exactly venue − internal, as before ranges (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: 0, max: 5 }),
        (internal, venue, tolerance) => {
          const { drifts } = computeDrift(
            expectedPositions([live("A", internal)], []),
            [{ venue: "kalshi", market: "A", position: venue }],
            tolerance,
          );
          expect(drifts.map((d) => d.drift)).toEqual(
            Math.abs(venue - internal) > tolerance ? [venue - internal] : [],
          );
        },
      ),
    );
  });
});

describe("backoff after a 429 (#13 item 8)", () => {
  it("doubles from 1 s per 429 in a row up to 60 s, and is over when its time is", () => {
    let b = afterRateLimit(null, 0);
    expect(b).toEqual({ streak: 1, untilMs: 1_000 });
    expect(backoffLeftMs(b, 400)).toBe(600);
    expect(backoffLeftMs(b, 1_000)).toBe(0);
    const waits = [1_000];
    for (let i = 0; i < 8; i++) {
      b = afterRateLimit(b, 0);
      waits.push(b.untilMs);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(afterRateLimit({ streak: 10_000, untilMs: 0 }, 5).untilMs).toBe(5 + BACKOFF_MAX_MS);
    expect(backoffLeftMs(null, 123)).toBe(0);
  });
});

describe("pre-trade verdict (#13 items 9 and 17)", () => {
  const intent = (effect: OrderIntent["effect"]): OrderIntent => ({
    strategyId: "s1",
    venue: "kalshi",
    market: "KXA",
    side: "buy",
    effect,
    quantity: 1,
    limitPrice: "0.5000",
    clientOrderId: "pp-00000000",
    evidenceHashes: ["a".repeat(64)],
  });
  const strategy: Result<StrategySummary> = {
    ok: true,
    value: {
      id: "s1",
      name: "s",
      kind: "k",
      state: "paper",
      allocation: "1",
      venues: ["kalshi"],
      params: {},
    },
  };
  const check = (
    compliance: PreTradeCheck["compliance"],
    missingEvidence: string[] = [],
  ): Result<PreTradeCheck> => ({
    ok: true,
    value: { compliance, rulesVersion: 7, missingEvidence },
  });
  const down = { ok: false as const, error: { code: "service_unavailable", message: "unreachable" } };
  const allow = check({ verdict: "allow" });
  const block = check({ verdict: "block", ruleId: "no-x", reason: "policy" });
  const unknown = check({ verdict: "unknown", reason: "market not stored" });

  it("refuses every order naming a strategy or evidence that does not exist", () => {
    for (const effect of ["open", "close"] as const) {
      expect(
        preTradeVerdict(intent(effect), { ok: false, error: { code: "not_found", message: "no" } }, allow),
      ).toMatchObject({
        ok: false,
        code: "unknown_reference",
        message: "strategyId: no strategy s1 exists",
        details: { field: "strategyId", missing: ["s1"] },
      });
      expect(
        preTradeVerdict(intent(effect), strategy, check({ verdict: "allow" }, ["0".repeat(64)])),
      ).toMatchObject({
        ok: false,
        code: "unknown_reference",
        details: { field: "evidenceHashes", missing: ["0".repeat(64)] },
      });
    }
  });

  it("refuses opening orders in a blocked market or without a verdict; a reduce or close may exit", () => {
    for (const [c, s, code] of [
      [block, strategy, "compliance_blocked"],
      [unknown, strategy, "compliance_blocked"],
      [down, strategy, "service_unavailable"],
      [allow, down, "service_unavailable"],
    ] as const) {
      for (const effect of ["open", "increase"] as const)
        expect(preTradeVerdict(intent(effect), s, c)).toMatchObject({ ok: false, code });
      for (const effect of ["reduce", "close"] as const)
        expect(preTradeVerdict(intent(effect), s, c)).toMatchObject({ ok: true });
    }
    expect(preTradeVerdict(intent("open"), strategy, block)).toMatchObject({
      message: "kalshi:KXA is blocked by compliance rule no-x (policy), rules version 7",
    });
    expect(preTradeVerdict(intent("close"), strategy, block)).toMatchObject({
      ok: true,
      record: { compliance: expect.stringContaining("blocked by compliance rule no-x"), rulesVersion: 7 },
    });
    expect(preTradeVerdict(intent("open"), strategy, allow)).toEqual({
      ok: true,
      record: { compliance: "allow", rulesVersion: 7 },
    });
  });
});
