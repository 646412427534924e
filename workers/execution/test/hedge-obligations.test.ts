// Hedge obligations: a covered Kalshi fill whose IBKR hedge could not be placed (no fresh mark, risk denied it)
// stays owed, visible and audited, and each loop run retries it until a hedge is placed, once. The table and the
// attempt rules are pure; the loop runs for real against the order manager with risk's and audit's doubles.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  attemptOutcome,
  HEDGE_OBLIGATION_TRANSITIONS,
  hedgeAttemptKey,
  obligationStats,
  obligationStep,
} from "../src/hedge-obligations";
import { runTradingLoop } from "../src/loop";
import { deriveClientOrderId } from "../src/orders/ids";
import {
  ADMIN,
  audit,
  execution,
  hedgedPaperPair,
  ibkrEvaluations,
  ibkrMark,
  orderManagerStub,
  risk,
} from "./helpers";

describe("the hedge obligation table", () => {
  it("matches an independently written table: open retries, places or is abandoned; placed and abandoned end", () => {
    const expected = [
      ["open", "attempt_failed", "open"],
      ["open", "hedge_placed", "placed"],
      ["open", "abandoned", "abandoned"],
      ["placed", "attempt_failed", null],
      ["placed", "hedge_placed", null],
      ["placed", "abandoned", null],
      ["abandoned", "attempt_failed", null],
      ["abandoned", "hedge_placed", null],
      ["abandoned", "abandoned", null],
    ] as const;
    for (const [from, event, to] of expected) {
      const step = obligationStep(from, event);
      expect(step, `${from} + ${event}`).toEqual(
        to ? { ok: true, state: to } : { ok: false, message: `hedge obligation is ${from}: no ${event}` },
      );
    }
    expect(Object.values(HEDGE_OBLIGATION_TRANSITIONS).flatMap((r) => Object.keys(r))).toHaveLength(3);
  });

  it("gives each attempt its own order key, the first one the loop's usual one", () => {
    expect(hedgeAttemptKey("pp-k", 1)).toBe("hedge:pp-k");
    expect(hedgeAttemptKey("pp-k", 2)).toBe("hedge:pp-k:2");
    expect(hedgeAttemptKey("pp-k", 3)).not.toBe(hedgeAttemptKey("pp-k", 2));
  });

  it("judges an attempt's order: working or filled in full is placed; ended short leaves the rest owed", () => {
    const order = (state: string, filledQuantity: number) =>
      ({ clientOrderId: "pp-h", state, filledQuantity, reason: "why" }) as Parameters<
        typeof attemptOutcome
      >[0];
    expect(attemptOutcome(order("filled", 5), 5)).toEqual({ kind: "placed" });
    for (const working of ["pending_submit", "submitted", "partially_filled", "unknown"])
      expect(attemptOutcome(order(working, 0), 5), working).toEqual({ kind: "placed" });
    expect(attemptOutcome(order("rejected", 0), 5)).toEqual({
      kind: "failed",
      remaining: 5,
      reason: "hedge order pp-h rejected with 0 of 5 filled: why",
    });
    expect(attemptOutcome(order("cancelled", 2), 5)).toMatchObject({ kind: "failed", remaining: 3 });
    // A hedge held at flat (it would have crossed zero) filled less than owed: the rest is owed still.
    expect(attemptOutcome(order("filled", 3), 5)).toMatchObject({ kind: "failed", remaining: 2 });
  });

  it("gauges the open ones: count, the oldest one's age, the shares owed", () => {
    const now = Date.parse("2026-12-02T12:10:00.000Z");
    expect(obligationStats([], now)).toEqual({
      open: 0,
      oldestFirstSeenAt: null,
      oldestAgeSeconds: null,
      unhedgedQuantity: 0,
    });
    expect(
      obligationStats(
        [
          { firstSeenAt: "2026-12-02T12:08:00.000Z", quantity: 4 },
          { firstSeenAt: "2026-12-02T12:04:59.500Z", quantity: 6 },
        ],
        now,
      ),
    ).toEqual({
      open: 2,
      oldestFirstSeenAt: "2026-12-02T12:04:59.500Z",
      oldestAgeSeconds: 300,
      unhedgedQuantity: 10,
    });
  });
});

async function obligation(coid: string, state: "open" | "placed" | "abandoned" = "open") {
  const r = await execution().listHedgeObligations({ state });
  if (!r.ok) throw new Error(r.error.message);
  return r.value.obligations.find((o) => o.clientOrderId === coid);
}

async function hedgeEvents(coid: string) {
  return (await audit()._events()).filter(
    (e) =>
      e.type.startsWith("execution.hedge_") &&
      (e.payload as { obligation?: { clientOrderId?: string } }).obligation?.clientOrderId === coid,
  );
}

describe("an unhedged fill through the loop", () => {
  it("stays owed without a fresh mark (audited, in monitorStats), then the next run with one hedges it once", async () => {
    const conid = 881001;
    // One decision minute for every run here (the loop's order ids are per minute): no second signal, only retries.
    const at = Date.now();
    const hedged = await hedgedPaperPair("rv-owed", "KXOWED-1", "0xpolyowed", conid);
    const first = await runTradingLoop(hedged, ADMIN, at);
    if (!first.ok) throw new Error(first.error.message);
    const [signalId] = first.value.submitted as [string];
    const signal = await execution().getOrder(signalId);
    if (!signal.ok) throw new Error("signal not stored");
    const shares = Math.floor(signal.value.filledQuantity * 0.5);
    expect(shares).toBeGreaterThan(0);
    // The run reports the hedge not placed, as before; now it is also owed.
    const firstHedgeId = await deriveClientOrderId("rv-owed", `hedge:${signalId}`, "ibkr");
    expect(first.value.denied).toEqual([
      {
        clientOrderId: firstHedgeId,
        reason: `hedge_not_placed: hedge sell ${shares} ibkr:${conid} not placed: risk holds no mark for it`,
      },
    ]);
    expect(await obligation(signalId)).toMatchObject({
      strategyId: "rv-owed",
      pairId: "pair-rv-owed",
      market: "KXOWED-1",
      fillSide: "buy",
      conid: String(conid),
      side: "sell",
      quantity: shares,
      state: "open",
      attempts: 1,
      lastReason: `hedge sell ${shares} ibkr:${conid} not placed: risk holds no mark for it`,
      hedgeOrderId: null,
      evidenceHashes: ["1".repeat(64), "2".repeat(64)],
    });
    // Owed from the fill on (audited with the fill's counts), then the first attempt's failure.
    expect((await hedgeEvents(signalId)).map((e) => e.type)).toEqual([
      "execution.hedge_owed",
      "execution.hedge_pending",
    ]);
    const stats = await execution().monitorStats();
    if (!stats.ok) throw new Error(stats.error.message);
    expect(stats.value.hedgeObligations.open).toBeGreaterThanOrEqual(1);
    expect(stats.value.hedgeObligations.unhedgedQuantity).toBeGreaterThanOrEqual(shares);
    expect(stats.value.hedgeObligations.oldestAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(await ibkrEvaluations(conid)).toEqual([]);

    // Still no mark: the next run tries again (a second attempt), places nothing, the obligation stays open.
    const second = await runTradingLoop(hedged, ADMIN, at);
    if (!second.ok) throw new Error(second.error.message);
    const retryId = await deriveClientOrderId("rv-owed", `hedge:${signalId}:2`, "ibkr");
    expect(second.value.hedgeRetries).toContainEqual({
      clientOrderId: signalId,
      obligationId: signalId,
      hedgeOrderId: retryId,
      outcome: "open",
      reason: expect.stringContaining("risk holds no mark for it"),
    });
    expect(await obligation(signalId)).toMatchObject({ state: "open", attempts: 2 });

    // A fresh mark: the third run's retry places the hedge at the mark, under the third attempt's id.
    await risk().recordMarks([ibkrMark(conid, "200.0000")]);
    const third = await runTradingLoop(hedged, ADMIN, at);
    if (!third.ok) throw new Error(third.error.message);
    const placedId = await deriveClientOrderId("rv-owed", `hedge:${signalId}:3`, "ibkr");
    expect(third.value.hedgeRetries).toContainEqual({
      clientOrderId: signalId,
      obligationId: signalId,
      hedgeOrderId: placedId,
      outcome: "placed",
      reason: null,
    });
    expect(third.value.submitted).toContain(placedId);
    const hedge = await execution().getOrder(placedId);
    if (!hedge.ok) throw new Error("hedge not stored");
    expect(hedge.value).toMatchObject({
      state: "filled",
      intent: {
        venue: "ibkr",
        market: String(conid),
        side: "sell",
        quantity: shares,
        limitPrice: "199.0000",
      },
      context: { kind: "hedge", hedgeOf: signalId, pairId: "pair-rv-owed" },
    });
    expect(await obligation(signalId, "placed")).toMatchObject({ state: "placed", hedgeOrderId: placedId });
    expect(await obligation(signalId)).toBeUndefined();
    expect((await hedgeEvents(signalId)).map((e) => e.type)).toEqual([
      "execution.hedge_owed",
      "execution.hedge_pending",
      "execution.hedge_pending",
      "execution.hedge_placed",
    ]);
    const runs = (await audit()._events()).filter((e) => e.type === "execution.loop_run");
    expect(JSON.stringify(runs.at(-1)?.payload)).toContain(placedId);

    // Placed once: a later run does not retry it, and risk decided exactly one hedge for the instrument.
    const fourth = await runTradingLoop(hedged, ADMIN, at);
    if (!fourth.ok) throw new Error(fourth.error.message);
    expect(fourth.value.hedgeRetries ?? []).not.toContainEqual(
      expect.objectContaining({ clientOrderId: signalId }),
    );
    expect(await ibkrEvaluations(conid)).toHaveLength(1);
  });

  it("stays owed when risk denies the hedge; the retry after the denial places it under a new id", async () => {
    const conid = 881002;
    const at = Date.now();
    const hedged = await hedgedPaperPair("rv-denied", "KXOWED-2", "0xpolydenied", conid);
    const first = await runTradingLoop(hedged, ADMIN, at);
    if (!first.ok) throw new Error(first.error.message);
    const signalId = first.value.submitted[0]!;
    // A fresh mark now, but risk denies: the retry (attempt 2) is refused, nothing is stored under its id, and
    // the obligation stays open with risk's reason.
    await risk().recordMarks([ibkrMark(conid, "150.0000")]);
    const deniedId = await deriveClientOrderId("rv-denied", `hedge:${signalId}:2`, "ibkr");
    try {
      await risk()._set({ deny: true });
      const denied = await runTradingLoop(hedged, ADMIN, at);
      if (!denied.ok) throw new Error(denied.error.message);
      expect(denied.value.hedgeRetries).toContainEqual({
        clientOrderId: signalId,
        obligationId: signalId,
        hedgeOrderId: deniedId,
        outcome: "open",
        reason: expect.stringMatching(/^risk_denied: POSITION_LIMIT_EXCEEDED/),
      });
    } finally {
      await risk()._set({ deny: false });
    }
    expect(await obligation(signalId)).toMatchObject({
      state: "open",
      attempts: 2,
      lastReason: expect.stringMatching(/^risk_denied/),
    });
    expect((await execution().getOrder(deniedId)).ok).toBe(false);
    expect((await hedgeEvents(signalId)).map((e) => e.type)).toEqual([
      "execution.hedge_owed",
      "execution.hedge_pending",
      "execution.hedge_pending",
    ]);

    // Risk approves again: attempt 3 places it.
    const next = await runTradingLoop(hedged, ADMIN, at);
    if (!next.ok) throw new Error(next.error.message);
    const placedId = await deriveClientOrderId("rv-denied", `hedge:${signalId}:3`, "ibkr");
    expect(next.value.hedgeRetries).toContainEqual(
      expect.objectContaining({ clientOrderId: signalId, hedgeOrderId: placedId, outcome: "placed" }),
    );
    expect(await obligation(signalId, "placed")).toMatchObject({ hedgeOrderId: placedId, attempts: 2 });
    const hedge = await execution().getOrder(placedId);
    expect(hedge.ok && hedge.value.state).toBe("filled");
  });

  it("an attempt whose order exists already (its outcome never recorded) is judged, not sent again", async () => {
    const conid = 881003;
    const at = Date.now();
    const hedged = await hedgedPaperPair("rv-crash", "KXOWED-3", "0xpolycrash", conid);
    const first = await runTradingLoop(hedged, ADMIN, at);
    if (!first.ok) throw new Error(first.error.message);
    const signalId = first.value.submitted[0]!;
    const owed = await obligation(signalId);
    expect(owed?.attempts).toBe(1);
    // A run placed attempt 2's hedge and was cut off before recording it: the order exists under that id (at a
    // price the mark no longer gives: sent again under that id it would be a conflict).
    await risk().recordMarks([ibkrMark(conid, "120.0000")]);
    const attempt2 = await deriveClientOrderId("rv-crash", `hedge:${signalId}:2`, "ibkr");
    const placed = await execution().placeOrder(
      {
        strategyId: "rv-crash",
        venue: "ibkr",
        market: String(conid),
        side: "sell",
        effect: "open",
        quantity: owed!.quantity,
        limitPrice: "119.5000",
        clientOrderId: attempt2,
        evidenceHashes: owed!.evidenceHashes,
      },
      ADMIN,
      { kind: "hedge", hedgeOf: signalId },
    );
    expect(placed.ok).toBe(true);
    const before = (await ibkrEvaluations(conid)).length;
    const next = await runTradingLoop(hedged, ADMIN, at);
    if (!next.ok) throw new Error(next.error.message);
    expect(next.value.hedgeRetries).toContainEqual(
      expect.objectContaining({ clientOrderId: signalId, hedgeOrderId: attempt2, outcome: "placed" }),
    );
    expect(await ibkrEvaluations(conid)).toHaveLength(before);
    expect(await obligation(signalId, "placed")).toMatchObject({ hedgeOrderId: attempt2 });
  });

  it("an operator can abandon an open obligation (audited, then no longer retried); not a closed one", async () => {
    const conid = 881004;
    const at = Date.now();
    const hedged = await hedgedPaperPair("rv-abandon", "KXOWED-4", "0xpolyabandon", conid);
    const first = await runTradingLoop(hedged, ADMIN, at);
    if (!first.ok) throw new Error(first.error.message);
    const signalId = first.value.submitted[0]!;
    const abandoned = await execution().abandonHedgeObligation(signalId, "hedged by hand at IBKR", ADMIN);
    expect(abandoned).toMatchObject({
      ok: true,
      value: { state: "abandoned", lastReason: "abandoned by ops1@paulp.test: hedged by hand at IBKR" },
    });
    const events = await hedgeEvents(signalId);
    expect(events.at(-1)).toMatchObject({
      type: "execution.hedge_abandoned",
      payload: { reason: "hedged by hand at IBKR", obligation: { state: "abandoned" } },
    });
    const again = await execution().abandonHedgeObligation(signalId, "twice", ADMIN);
    expect(again).toMatchObject({ ok: false, error: { code: "conflict" } });
    const unknown = await execution().abandonHedgeObligation("pp-no-such-order", "none", ADMIN);
    expect(unknown).toMatchObject({ ok: false, error: { code: "not_found" } });
    const bad = await execution().abandonHedgeObligation(signalId, "", ADMIN);
    expect(bad).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    await risk().recordMarks([ibkrMark(conid, "150.0000")]);
    const next = await runTradingLoop(hedged, ADMIN, at);
    if (!next.ok) throw new Error(next.error.message);
    expect(next.value.hedgeRetries ?? []).not.toContainEqual(
      expect.objectContaining({ clientOrderId: signalId }),
    );
    expect(await ibkrEvaluations(conid)).toEqual([]);
  });
});

describe("two hedges on one instrument in one run", () => {
  it("reports each hedge's fill to risk before the next hedge there is judged, so both count the same position", async () => {
    const conid = 881077;
    const hedged = await hedgedPaperPair("rv-twice", "KXTWICE-1", "0xpolytwice", conid);
    // Two decision minutes without a mark: two signals filled, two hedges owed on the one instrument.
    const now = Date.now();
    for (const at of [now - 120_000, now - 60_000]) {
      const r = await runTradingLoop(hedged, ADMIN, at);
      if (!r.ok) throw new Error(r.error.message);
    }
    const owed = await execution().listHedgeObligations({ state: "open" });
    if (!owed.ok) throw new Error(owed.error.message);
    const mine = owed.value.obligations.filter((o) => o.strategyId === "rv-twice");
    expect(mine).toHaveLength(2);

    // With a mark, one run places both (and any hedge of its own signal) one after the other.
    await risk().recordMarks([ibkrMark(conid, "200.0000")]);
    const run = await runTradingLoop(hedged, ADMIN, now);
    if (!run.ok) throw new Error(run.error.message);
    for (const o of mine)
      expect(await obligation(o.clientOrderId, "placed")).toMatchObject({ state: "placed" });

    // In risk's calls: every hedge on the instrument after the first is evaluated only once the fills of the
    // hedges before it were recorded (the effect risk checks follows from those fills).
    const calls = await risk()._calls();
    const hedgeIds: string[] = [];
    for (const [i, c] of calls.entries()) {
      if (c.method !== "evaluate") continue;
      const intent = c.intent as { venue?: string; market?: string; clientOrderId?: string };
      if (intent.venue !== "ibkr" || intent.market !== String(conid)) continue;
      const recorded = new Set(
        calls
          .slice(0, i)
          .filter((d) => d.method === "recordFills")
          .flatMap((d) => (d.fills as { clientOrderId: string }[]).map((f) => f.clientOrderId)),
      );
      for (const earlier of hedgeIds)
        expect(recorded.has(earlier), `${earlier} before ${intent.clientOrderId}`).toBe(true);
      hedgeIds.push(intent.clientOrderId!);
    }
    expect(hedgeIds.length).toBeGreaterThanOrEqual(2);
  });

  it("leaves a hedge owed, saying why, while risk does not take the fills it would be judged against", async () => {
    const conid = 881078;
    const hedged = await hedgedPaperPair("rv-unreported", "KXUNREP-1", "0xpolyunrep", conid);
    await risk().recordMarks([ibkrMark(conid, "200.0000")]);
    const at = Date.now();
    await risk()._set({ failFills: true });
    try {
      const r = await runTradingLoop(hedged, ADMIN, at);
      if (!r.ok) throw new Error(r.error.message);
      const [signalId] = r.value.submitted as [string];
      expect(r.value.denied).toContainEqual({
        clientOrderId: expect.stringMatching(/^pp-/),
        reason: expect.stringMatching(/not placed: \d+ fill\(s\) not yet reported to risk/),
      });
      expect(await obligation(signalId)).toMatchObject({ state: "open", attempts: 1 });
      expect(await ibkrEvaluations(conid)).toEqual([]);
    } finally {
      await risk()._set({ failFills: false });
    }
    // Risk takes fills again: the next run reports them first, then places the hedge.
    const next = await runTradingLoop(hedged, ADMIN, at);
    if (!next.ok) throw new Error(next.error.message);
    expect(next.value.hedgeRetries).toContainEqual(expect.objectContaining({ outcome: "placed" }));
    expect(await ibkrEvaluations(conid)).toHaveLength(1);
  });

  it("keeps an owed hedge's fact with its obligation while the chain refuses it, and appends it once, in order, after", async () => {
    const conid = 881079;
    const hedged = await hedgedPaperPair("rv-heldowed", "KXHELD-1", "0xpolyheld", conid);
    await audit()._set({ failingTypes: ["execution.hedge_owed"] });
    let signalId: string;
    try {
      const r = await runTradingLoop(hedged, ADMIN, Date.now());
      if (!r.ok) throw new Error(r.error.message);
      [signalId] = r.value.submitted as [string];
      expect(await obligation(signalId)).toMatchObject({ state: "open" });
      // Not on the chain yet, and what followed it (the attempt's failure) waits behind it, in order.
      expect((await hedgeEvents(signalId)).map((e) => e.type)).toEqual([]);
    } finally {
      await audit()._set({ failingTypes: [] });
    }
    await runDurableObjectAlarm(orderManagerStub());
    await runDurableObjectAlarm(orderManagerStub());
    expect((await hedgeEvents(signalId)).map((e) => e.type)).toEqual([
      "execution.hedge_owed",
      "execution.hedge_pending",
    ]);
  });
});
