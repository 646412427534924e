import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  afterOutbox,
  approvedDecision,
  askOnlyBook,
  audit,
  bookkeepingSettled,
  execution,
  goLive,
  governance,
  ibkrIntent,
  ingestion,
  intent,
  liveOnSimulator,
  releasesOf,
  reportedFills,
  risk,
  setBackoff,
  simAdmin,
  simIbkrOrders,
  simKalshiOrders,
  TICKERS,
} from "./helpers";

const LIVE = "rv-live";
const PAPER = "rv-paper";
const forCoid = async (id: string) => (await simKalshiOrders()).filter((o) => o.client_order_id === id);
const consumeCalls = async (decisionId: string) =>
  (await risk()._calls()).filter((c) => c.method === "consume" && c.decisionId === decisionId);

beforeAll(() => liveOnSimulator(LIVE));

describe("the only way to a venue: a decision for exactly this intent", () => {
  it("refuses an order with no decision id and sends nothing", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[0]! });
    const r = await execution().submitOrder(i, undefined as unknown as string, ADMIN);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("validation_failed");
    expect(await forCoid(i.clientOrderId)).toEqual([]);
    expect((await execution().getOrder(i.clientOrderId)).ok).toBe(false);
  });

  it("refuses a decision for another intent and sends nothing", async () => {
    const approved = intent({ strategyId: LIVE, market: TICKERS[0]!, quantity: 1 });
    const d = await approvedDecision(approved);
    const other = { ...approved, quantity: 9 };
    const r = await execution().submitOrder(other, d.decisionId, ADMIN);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("risk_denied");
      expect(r.error.message).toMatch(/different intent/);
    }
    expect(await forCoid(other.clientOrderId)).toEqual([]);
    const stored = await execution().getOrder(other.clientOrderId);
    expect(stored.ok && stored.value.state).toBe("rejected");
  });

  it("refuses an expired decision and sends nothing", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[0]! });
    const d = await approvedDecision(i, { expiresAt: new Date(Date.now() - 1_000).toISOString() });
    const r = await execution().submitOrder(i, d.decisionId, ADMIN);
    expect(!r.ok && r.error.message).toMatch(/expired/);
    expect(await forCoid(i.clientOrderId)).toEqual([]);
  });

  it("refuses a decision used before, even for an identical intent under a new id", async () => {
    const first = intent({ strategyId: PAPER, market: "KXPAPER-1" });
    await askOnlyBook("KXPAPER-1", "0.5000", "100", "c");
    const d = await approvedDecision(first);
    expect((await execution().submitOrder(first, d.decisionId, ADMIN)).ok).toBe(true);
    const second = { ...first, clientOrderId: `${first.clientOrderId}-2`.slice(0, 64) };
    const r = await execution().submitOrder(second, d.decisionId, ADMIN);
    expect(!r.ok && r.error.code).toBe("risk_denied");
    const stored = await execution().getOrder(second.clientOrderId);
    expect(stored.ok && stored.value.state).toBe("rejected");
    expect(stored.ok && stored.value.filledQuantity).toBe(0);
  });

  it("refuses a denied decision", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[0]! });
    const d = await approvedDecision(i, {
      approved: false,
      reasons: [{ code: "POSITION_LIMIT_EXCEEDED", message: "x" }],
    });
    const r = await execution().submitOrder(i, d.decisionId, ADMIN);
    expect(!r.ok && r.error.code).toBe("risk_denied");
    expect(await forCoid(i.clientOrderId)).toEqual([]);
  });

  it("refuses opening orders while the breaker is HALT, but lets a reducing order through", async () => {
    await risk()._set({ breaker: "HALT" });
    try {
      const open = intent({ strategyId: LIVE, market: TICKERS[1]! });
      const d = await approvedDecision(open);
      const r = await execution().submitOrder(open, d.decisionId, ADMIN);
      expect(!r.ok && r.error.code).toBe("breaker_halted");
      expect(await forCoid(open.clientOrderId)).toEqual([]);
      const reduce = intent({
        strategyId: LIVE,
        market: TICKERS[1]!,
        side: "sell",
        effect: "reduce",
        limitPrice: "0.0100",
        quantity: 1,
      });
      const d2 = await approvedDecision(reduce);
      const r2 = await execution().submitOrder(reduce, d2.decisionId, ADMIN);
      expect(r2.ok).toBe(true);
      expect(await forCoid(reduce.clientOrderId)).toHaveLength(1);
    } finally {
      await risk()._set({ breaker: "NORMAL" });
    }
  });

  it("refuses an opening order itself when risk's consume answers HALT without refusing it", async () => {
    // Defence in depth: risk refuses opening decisions it consumes in HALT; execution checks the state too.
    await risk()._set({ breaker: "HALT", leakHalt: true });
    try {
      const open = intent({ strategyId: LIVE, market: TICKERS[1]! });
      const d = await approvedDecision(open);
      const r = await execution().submitOrder(open, d.decisionId, ADMIN);
      expect(!r.ok && r.error.code).toBe("breaker_halted");
      expect(await consumeCalls(d.decisionId)).toHaveLength(1);
      expect(await forCoid(open.clientOrderId)).toEqual([]);
    } finally {
      await risk()._set({ breaker: "NORMAL", leakHalt: false });
    }
  });

  it("never asks for the breaker separately: the consume answers it", async () => {
    const i = intent({ strategyId: PAPER, market: TICKERS[0]! });
    const d = await approvedDecision(i);
    const before = (await risk()._calls()).filter((c) => c.method === "getBreaker").length;
    const r = await execution().submitOrder(i, d.decisionId, ADMIN);
    expect(r.ok).toBe(true);
    expect((await risk()._calls()).filter((c) => c.method === "getBreaker").length).toBe(before);
  });

  it("refuses when the audit append fails, before anything is sent", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[0]! });
    const d = await approvedDecision(i);
    await audit()._set({ failing: true });
    try {
      const r = await execution().submitOrder(i, d.decisionId, ADMIN);
      expect(!r.ok && r.error.code).toBe("audit_unavailable");
    } finally {
      await audit()._set({ failing: false });
    }
    expect(await forCoid(i.clientOrderId)).toEqual([]);
  });
});

describe("placeOrder: risk decides and consumes in the same call", () => {
  const decideCalls = async () =>
    (await risk()._calls()).filter((c) => c.method === "evaluate" && c.mode === "decide_and_consume");

  it("a live approval is sent once, stored with its decision, and never consumed a second time", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[5]!, quantity: 1 });
    const before = (await decideCalls()).length;
    const r = await execution().placeOrder(i, ADMIN, { kind: "manual" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.duplicate).toBe(false);
    // The venue answered: execution resets its own order-error count (and only it may).
    // (Sent without holding up the answer: awaited here as the event it is.)
    await bookkeepingSettled();
    const successes = (await risk()._calls()).filter(
      (c) => c.method === "reportSuccess" && c.kind === "venue_order_error",
    );
    expect(successes.length).toBeGreaterThan(0);
    const calls = (await decideCalls()).slice(before);
    expect(calls).toHaveLength(1);
    // The decision id risk minted is the one stored and audited with the order; no consume of our own.
    expect(r.value.order.decisionId).toBe(calls[0]!.decisionId);
    expect(await consumeCalls(String(calls[0]!.decisionId))).toHaveLength(0);
    expect(await forCoid(i.clientOrderId)).toHaveLength(1);
    const submitted = (await audit()._events()).find(
      (e) => e.type === "execution.order_submitted" && e.payload.clientOrderId === i.clientOrderId,
    );
    expect(submitted?.payload.decisionId).toBe(calls[0]!.decisionId);
    // The same intent again is the stored order: risk is not asked again and nothing more is sent.
    const again = await execution().placeOrder(i, ADMIN, { kind: "manual" });
    expect(again.ok && again.value.duplicate).toBe(true);
    expect((await decideCalls()).length).toBe(before + 1);
    expect(await forCoid(i.clientOrderId)).toHaveLength(1);
  });

  it("a denial sends nothing, answers the reasons, and leaves the id free", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[5]!, quantity: 1 });
    await risk()._set({ deny: true });
    try {
      const r = await execution().placeOrder(i, ADMIN);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.code).toBe("risk_denied");
      expect(r.error.message).toMatch(/POSITION_LIMIT_EXCEEDED/);
      expect(r.error.details).toMatchObject({ reasons: [{ code: "POSITION_LIMIT_EXCEEDED" }] });
    } finally {
      await risk()._set({ deny: false });
    }
    expect(await forCoid(i.clientOrderId)).toEqual([]);
    expect((await execution().getOrder(i.clientOrderId)).ok).toBe(false);
    // Nothing was decided for the id, so a later approval under it goes through.
    const later = await execution().placeOrder(i, ADMIN);
    expect(later.ok && later.value.duplicate).toBe(false);
    expect(await forCoid(i.clientOrderId)).toHaveLength(1);
  });

  it("risk failing to decide sends nothing and answers risk's error", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[5]!, quantity: 1 });
    const events = (await audit()._events()).length;
    await risk()._set({ decideError: "audit_unavailable" });
    try {
      const r = await execution().placeOrder(i, ADMIN);
      expect(!r.ok && r.error.code).toBe("audit_unavailable");
    } finally {
      await risk()._set({ decideError: null });
    }
    expect(await forCoid(i.clientOrderId)).toEqual([]);
    expect((await execution().getOrder(i.clientOrderId)).ok).toBe(false);
    expect(
      (await audit()._events()).slice(events).filter((e) => e.payload?.clientOrderId === i.clientOrderId),
    ).toEqual([]);
  });

  it("refuses invalid input before asking risk", async () => {
    const before = (await decideCalls()).length;
    const r = await execution().placeOrder({ ...intent(), quantity: -1 }, ADMIN);
    expect(!r.ok && r.error.code).toBe("validation_failed");
    expect((await decideCalls()).length).toBe(before);
  });
});

describe("idempotency", () => {
  it("a duplicate order submitted 100 times concurrently reaches the venue once", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[2]! });
    const d = await approvedDecision(i);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => execution().submitOrder(i, d.decisionId, ADMIN)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const dupes = results.filter((r) => r.ok && r.value.duplicate).length;
    expect(dupes).toBe(99);
    expect(await forCoid(i.clientOrderId)).toHaveLength(1);
    expect(await consumeCalls(d.decisionId)).toHaveLength(1);
    const stored = await execution().getOrder(i.clientOrderId);
    expect(stored.ok && stored.value.state).toBe("filled");
    const fillsFor = async () =>
      (await reportedFills()).filter((c) => c.fill.clientOrderId === i.clientOrderId);
    await afterOutbox(fillsFor, (f) => f.length > 0);
    // Another run of the outbox sends nothing more: the fill went once.
    const fills = await afterOutbox(fillsFor, () => false, 1);
    expect(fills).toHaveLength(1);
    expect(fills[0]!.fill).toMatchObject({
      fillId: `${i.clientOrderId}:3`,
      quantity: 3,
      side: "buy",
      venue: "kalshi",
    });
  });

  it("refuses the same client order id with a different payload", async () => {
    const i = intent({ strategyId: PAPER, market: "KXPAPER-1" });
    const d = await approvedDecision(i);
    expect((await execution().submitOrder(i, d.decisionId, ADMIN)).ok).toBe(true);
    const changed = { ...i, limitPrice: "0.4000" };
    const d2 = await approvedDecision(changed);
    const r = await execution().submitOrder(changed, d2.decisionId, ADMIN);
    expect(!r.ok && r.error.code).toBe("conflict");
    expect(await consumeCalls(d2.decisionId)).toHaveLength(0);
  });

  it("a timeout after acceptance ends unknown and is resolved without a second order", {
    timeout: 30_000,
  }, async () => {
    await simAdmin("kalshi", "faults", { afterAccept: "hang", hangMs: 8_000, times: 1 });
    const i = intent({ strategyId: LIVE, market: TICKERS[3]! });
    const d = await approvedDecision(i);
    const r = await execution().submitOrder(i, d.decisionId, ADMIN);
    expect(r.ok && r.value.order.state).toBe("unknown");
    expect(await forCoid(i.clientOrderId)).toHaveLength(1);
    const failures = (await risk()._calls()).filter(
      (c) => c.method === "reportFailure" && c.kind === "venue_order_error",
    );
    expect(failures.length).toBeGreaterThan(0);

    const resolved = await execution().resolveUnknown(ADMIN);
    expect(resolved.ok && resolved.value.resolved).toBeGreaterThanOrEqual(1);
    const after = await execution().getOrder(i.clientOrderId);
    expect(after.ok && after.value.state).toBe("filled");
    expect(after.ok && after.value.history.map((h) => h.state)).toEqual([
      "pending_submit",
      "unknown",
      "filled",
    ]);
    expect(await forCoid(i.clientOrderId)).toHaveLength(1);
    // Submitting the same intent again answers the stored order and still sends nothing.
    const again = await execution().submitOrder(i, d.decisionId, ADMIN);
    expect(again.ok && again.value.duplicate).toBe(true);
    expect(await forCoid(i.clientOrderId)).toHaveLength(1);
  });
});

describe("paper mode", () => {
  it("fills against the ingested book without any venue call and reports the fill", async () => {
    await ingestion()._setBook("kalshi", TICKERS[4]!, {
      bids: [{ price: "0.4000", size: "10" }],
      asks: [
        { price: "0.4200", size: "2" },
        { price: "0.4400", size: "5" },
      ],
      evidenceHash: "d".repeat(64),
    });
    const i = intent({ strategyId: PAPER, market: TICKERS[4]!, quantity: 4, limitPrice: "0.4400" });
    const d = await approvedDecision(i);
    const r = await execution().submitOrder(i, d.decisionId, ADMIN);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.order).toMatchObject({
      mode: "paper",
      state: "filled",
      filledQuantity: 4,
      avgFillPrice: "0.4300",
    });
    expect(await forCoid(i.clientOrderId)).toEqual([]);
    const positions = await execution().getPositions();
    expect(
      positions.ok &&
        positions.value.positions.find((p) => p.market === TICKERS[4] && p.mode === "paper")?.position,
    ).toBe(4);
  });

  it("cancels the part of a paper order the book cannot fill", async () => {
    const i = intent({ strategyId: PAPER, market: TICKERS[4]!, quantity: 20, limitPrice: "0.4200" });
    const d = await approvedDecision(i);
    const r = await execution().submitOrder(i, d.decisionId, ADMIN);
    expect(r.ok && r.value.order).toMatchObject({ state: "cancelled", filledQuantity: 2 });
  });
});

describe("ended orders release their reservations at risk", () => {
  const fillCallsOf = async (coid: string) =>
    (await risk()._calls())
      .map((c, i) => ({ c, i }))
      .filter(
        ({ c }) =>
          c.method === "recordFills" &&
          (c.fills as { clientOrderId: string }[]).some((f) => f.clientOrderId === coid),
      );

  it("a partly filled paper IOC order reports its fill first, then that it ended", async () => {
    await askOnlyBook("KXPAPER-END", "0.5000", "2", "f");
    const i = intent({ strategyId: PAPER, market: "KXPAPER-END", quantity: 5, limitPrice: "0.5000" });
    const r = await execution().placeOrder(i, ADMIN);
    expect(r.ok && r.value.order).toMatchObject({ state: "cancelled", filledQuantity: 2 });
    const released = await afterOutbox(
      () => releasesOf(i.clientOrderId),
      (x) => x.length > 0,
    );
    expect(released).toHaveLength(1);
    const fills = await fillCallsOf(i.clientOrderId);
    expect(fills.length).toBeGreaterThan(0);
    // Every fill call came before the release: risk never under-counts the filled part.
    expect(Math.max(...fills.map((f) => f.i))).toBeLessThan(released[0]!.i);
  });

  it("a resting IBKR order keeps its reservation until it ends", async () => {
    const i = ibkrIntent(LIVE, 3);
    const d = await approvedDecision(i);
    const r = await execution().submitOrder(i, d.decisionId, ADMIN);
    expect(r.ok && r.value.order.state).toBe("submitted");
    // The outbox runs (the answer stored no fill, so nothing is sent): no release while the order rests.
    expect(
      await afterOutbox(
        () => releasesOf(i.clientOrderId),
        () => false,
        1,
      ),
    ).toEqual([]);
    await execution().resolveUnknown(ADMIN); // polls the gateway: the order has filled
    const after = await execution().getOrder(i.clientOrderId);
    expect(after.ok && after.value.state).toBe("filled");
    expect(
      await afterOutbox(
        () => releasesOf(i.clientOrderId),
        (x) => x.length === 1,
      ),
    ).toHaveLength(1);
  });

  it("risk refusing the release keeps it for the next push", async () => {
    await askOnlyBook("KXPAPER-END2", "0.5000", "100", "f");
    await risk()._set({ failFills: true });
    const i = intent({ strategyId: PAPER, market: "KXPAPER-END2", quantity: 1, limitPrice: "0.4000" });
    try {
      const r = await execution().placeOrder(i, ADMIN);
      expect(r.ok && r.value.order.state).toBe("cancelled"); // nothing crossed: ended with no fill
      const refused = await afterOutbox(
        () => releasesOf(i.clientOrderId),
        (x) => x.length > 0,
      );
      expect(refused.every(({ c }) => c.refused === true)).toBe(true);
    } finally {
      await risk()._set({ failFills: false });
    }
    expect(
      await afterOutbox(
        async () => (await releasesOf(i.clientOrderId)).filter(({ c }) => c.refused === false),
        (x) => x.length === 1,
        10_000,
      ),
    ).toHaveLength(1);
  });
});

describe("execution policy", () => {
  it("refuses live without a receipt, naming the action and exact payload", async () => {
    const change = { scope: "strategy:rv-other", mode: "live" } as const;
    const r = await execution().setPolicy(change, ADMIN);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("approval_required");
    expect(r.error.details).toEqual({ action: "execution.policy_live", payload: change });
    const p = await execution().getPolicy();
    expect(p.ok && p.value.strategies["rv-other"]).toBeUndefined();
  });

  it("refuses a receipt for another payload, and a receipt used twice", async () => {
    await governance()._mint("req-other", "tok-other", "execution.policy_live", {
      scope: "strategy:rv-x",
      mode: "live",
    });
    const wrong = await execution().setPolicy({ scope: "strategy:rv-y", mode: "live" }, ADMIN, {
      requestId: "req-other",
      receiptToken: "tok-other",
    });
    expect(!wrong.ok && wrong.error.code).toBe("forbidden");
    const right = await execution().setPolicy({ scope: "strategy:rv-x", mode: "live" }, ADMIN, {
      requestId: "req-other",
      receiptToken: "tok-other",
    });
    expect(right.ok).toBe(true);
    const reused = await execution().setPolicy({ scope: "strategy:rv-x", mode: "live" }, ADMIN, {
      requestId: "req-other",
      receiptToken: "tok-other",
    });
    expect(!reused.ok && reused.error.code).toBe("conflict");
  });

  it("live redeemed but not audited stays as it was and gives the receipt back", async () => {
    const change = { scope: "strategy:rv-unaudited", mode: "live" } as const;
    await governance()._mint("req-unaudited", "tok-unaudited", "execution.policy_live", change);
    await audit()._set({ failingTypes: ["execution.policy_changed"] });
    const r = await execution().setPolicy(change, ADMIN, {
      requestId: "req-unaudited",
      receiptToken: "tok-unaudited",
    });
    await audit()._set({ failingTypes: [] });
    expect(!r.ok && r.error.code).toBe("audit_unavailable");
    expect(!r.ok && r.error.message).toMatch(/; approval req-unaudited returned: re-run it/);
    const p = await execution().getPolicy();
    expect(p.ok && p.value.strategies["rv-unaudited"]).toBeUndefined();
    const calls = (await governance()._calls()).filter((c) => c.method === "returnReceipt");
    expect(calls.at(-1)).toMatchObject({
      receipt: { requestId: "req-unaudited", receiptToken: "tok-unaudited" },
      reason: expect.stringMatching(/^apply failed: /),
      actor: ADMIN,
    });
  });

  it("an order deciding when the policy goes paper is not sent (the kill switch holds)", async () => {
    // Risk holds the decision until the policy has moved: the order is deciding (its call arrived) when it does.
    await risk()._hold("evaluate");
    const i = intent({ strategyId: LIVE, market: TICKERS[6]!, quantity: 1 });
    try {
      const deciding = (await risk()._calls("deciding")).length;
      const placing = execution().placeOrder(i, ADMIN);
      await risk()._arrivals("deciding", deciding + 1);
      const p = await execution().setPolicy({ scope: "global", mode: "paper" }, ADMIN);
      expect(p.ok && p.value.global).toBe("paper");
      await risk()._release();
      const r = await placing;
      expect(!r.ok && r.error.code).toBe("conflict");
      expect(!r.ok && r.error.message).toMatch(/moved to paper .* nothing sent/);
      expect((await simKalshiOrders()).filter((o) => o.client_order_id === i.clientOrderId)).toHaveLength(0);
      const o = await execution().getOrder(i.clientOrderId);
      expect(o.ok && o.value.state).toBe("rejected");
    } finally {
      await risk()._release();
      await goLive(LIVE);
    }
  });

  it("moves back to paper at once, with no receipt", async () => {
    const r = await execution().setPolicy({ scope: "strategy:rv-x", mode: "paper" }, ADMIN);
    expect(r.ok && r.value.strategies["rv-x"]).toBe("paper");
    const events = await audit()._events();
    expect(events.some((e) => e.type === "execution.policy_changed")).toBe(true);
  });

  it("a strategy with no live entry stays paper even when global is live", async () => {
    await askOnlyBook("KXPAPER-2", "0.5000", "5", "e");
    const i = intent({ strategyId: "rv-never-promoted", market: "KXPAPER-2", quantity: 1 });
    const d = await approvedDecision(i);
    const r = await execution().submitOrder(i, d.decisionId, ADMIN);
    expect(r.ok && r.value.order.mode).toBe("paper");
  });
});

describe("reconciliation", () => {
  it("finds injected drift per market, reports it to the breaker and audits it", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[5]!, quantity: 2 });
    const d = await approvedDecision(i);
    expect((await execution().submitOrder(i, d.decisionId, ADMIN)).ok).toBe(true);
    const clean = await execution().reconcile(ADMIN);
    expect(clean.ok).toBe(true);
    if (!clean.ok) return;
    expect(clean.value.venues.find((v) => v.venue === "kalshi")?.status).toBe("ok");
    const before = clean.value.drifts.find((x) => x.market === TICKERS[5]);
    // Another test file may share the simulator, so take the current drift as the baseline.
    await simAdmin("kalshi", "positions", { ticker: TICKERS[5], delta: 7 });
    const r = await execution().reconcile({ method: "system", subject: "cron:reconcile" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const drift = r.value.drifts.find((x) => x.market === TICKERS[5]);
    expect(drift?.drift).toBe((before?.drift ?? 0) + 7);
    expect(r.value.reported).toBeGreaterThanOrEqual(1);
    const reports = (await risk()._calls()).filter(
      (c) =>
        c.method === "reportFailure" &&
        c.kind === "reconciliation_drift" &&
        String(c.detail).includes(TICKERS[5]!),
    );
    expect(reports.length).toBeGreaterThanOrEqual(1);
    const events = await audit()._events();
    expect(events.filter((e) => e.type === "execution.reconciliation").length).toBeGreaterThanOrEqual(2);
  });
});

describe("IBKR", () => {
  it("refuses and audits an unknown question, leaving no order at the gateway", async () => {
    // One question, two warnings: one allowlisted, one not; the question is refused whole.
    await simAdmin("ibkr", "questions", { messageIds: ["o354", "o999"] });
    try {
      const i = ibkrIntent(LIVE, 5);
      const d = await approvedDecision(i);
      const r = await execution().submitOrder(i, d.decisionId, ADMIN);
      expect(r.ok && r.value.order.state).toBe("rejected");
      expect(r.ok && r.value.order.reason).toMatch(
        /question_refused.*Unrecognised warning \(o999\).*allowlist/,
      );
      const refused = (await audit()._events()).filter(
        (e) => e.type === "execution.ibkr_question_refused" && e.payload.clientOrderId === i.clientOrderId,
      );
      expect(refused).toHaveLength(1);
      expect(refused[0]!.payload.message).toEqual([
        expect.stringMatching(/without market data/),
        expect.stringMatching(/o999/),
      ]);
      const orders = (await (await env.VENUE_SIM.fetch("https://ibkr-gw.test/__sim/ibkr/orders")).json()) as {
        orders: { cOID: string }[];
      };
      expect(orders.orders.some((o) => o.cOID === i.clientOrderId)).toBe(false);
    } finally {
      await simAdmin("ibkr", "questions", { messageIds: ["o354"] });
    }
  });

  it("confirms allowlisted questions, audits the confirmation, places the hedge, and learns its fill", async () => {
    await simAdmin("ibkr", "questions", { messageIds: ["o354", "o163"] });
    try {
      const i = ibkrIntent(LIVE, 5);
      const d = await approvedDecision(i);
      const r = await execution().submitOrder(i, d.decisionId, ADMIN);
      expect(r.ok && r.value.order.state).toBe("submitted");
      const confirmed = (await audit()._events()).filter(
        (e) => e.type === "execution.ibkr_question_confirmed" && e.payload.clientOrderId === i.clientOrderId,
      );
      expect(confirmed).toHaveLength(1);
      await execution().resolveUnknown(ADMIN);
      const after = await execution().getOrder(i.clientOrderId);
      expect(after.ok && after.value).toMatchObject({ state: "filled", filledQuantity: 5 });
    } finally {
      await simAdmin("ibkr", "questions", { messageIds: ["o354"] });
    }
  });
});

describe("IBKR brokerage session", () => {
  it("an idle-logged-out session is reauthenticated, then reconciliation reads positions", async () => {
    await simAdmin("ibkr", "session", { authenticated: false });
    const r = await execution().reconcile(ADMIN);
    expect(r.ok).toBe(true);
    const calls = (await risk()._calls()).filter(
      (c) => c.method === "reportFailure" && String(c.detail).includes("ibkr"),
    );
    expect(calls.filter((c) => /not authenticated/.test(String(c.detail)))).toEqual([]);
  });

  it("a logged-out gateway (no reauthentication possible) refuses the order as auth and sends nothing", async () => {
    await simAdmin("ibkr", "session", { authenticated: false, loggedOut: true });
    try {
      const i = ibkrIntent(LIVE, 1);
      const d = await approvedDecision(i);
      const r = await execution().submitOrder(i, d.decisionId, ADMIN);
      expect(r.ok && r.value.order.state).toBe("rejected");
      expect(r.ok && r.value.order.reason).toMatch(/^auth/);
      expect((await simIbkrOrders()).filter((o) => o.cOID === i.clientOrderId)).toEqual([]);
    } finally {
      await simAdmin("ibkr", "session", { authenticated: true, loggedOut: false });
    }
  });
});

describe("failure paths", () => {
  it("validates RPC input: a malformed intent or order id is validation_failed", async () => {
    const bad = await execution().submitOrder(
      { ...intent(), limitPrice: "0.5" as string, quantity: 1.005 },
      "dec-x",
      ADMIN,
    );
    expect(!bad.ok && bad.error.code).toBe("validation_failed");
    const badId = await execution().getOrder("no spaces allowed");
    expect(!badId.ok && badId.error.code).toBe("validation_failed");
  });

  it("a 429 from Kalshi rejects the order as rate_limited; nothing is stored at the venue", async () => {
    await simAdmin("kalshi", "limits", { writeCapacity: 0, writeRefillPerSecond: 0.0001 });
    try {
      const i = intent({ strategyId: LIVE, market: TICKERS[6]! });
      const d = await approvedDecision(i);
      const r = await execution().submitOrder(i, d.decisionId, ADMIN);
      expect(r.ok && r.value.order.state).toBe("rejected");
      expect(r.ok && r.value.order.reason).toMatch(/^rate_limited/);
      expect(await forCoid(i.clientOrderId)).toEqual([]);
    } finally {
      await simAdmin("kalshi", "limits", {});
      await setBackoff("kalshi", null);
    }
  });

  it("refuses to cancel a terminal order, naming its state", async () => {
    await askOnlyBook("KXPAPER-3", "0.5000", "5", "e");
    const i = intent({ strategyId: PAPER, market: "KXPAPER-3", quantity: 1, limitPrice: "0.5000" });
    const d = await approvedDecision(i);
    expect((await execution().submitOrder(i, d.decisionId, ADMIN)).ok).toBe(true);
    const c = await execution().cancelOrder(i.clientOrderId, ADMIN);
    expect(!c.ok && c.error).toMatchObject({
      code: "conflict",
      message: expect.stringMatching(/already filled/),
    });
  });

  /** `n` one-contract paper increases on KXPAPER-4 (a book of 100 asks at 0.50), client order ids `<prefix>-<k>`. */
  const paperIncreases = async (n: number, prefix: string) => {
    await askOnlyBook("KXPAPER-4", "0.5000", "100", "e");
    return Array.from({ length: n }, (_, k) =>
      intent({
        strategyId: PAPER,
        market: "KXPAPER-4",
        quantity: 1,
        limitPrice: "0.5000",
        effect: "increase",
        clientOrderId: `${prefix}-${k}`,
      }),
    );
  };

  it("pushes fills to risk in batches, each exactly once, without a retry alarm per fill", async () => {
    const intents = await paperIncreases(6, "pp-batch");
    // Concurrent orders: fills stored while a push is in flight go together in the next round.
    const decisions = await Promise.all(intents.map((i) => approvedDecision(i)));
    const answers = await Promise.all(
      intents.map((i, k) => execution().submitOrder(i, decisions[k]!.decisionId, ADMIN)),
    );
    expect(answers.every((a) => a.ok && a.value.order.state === "filled")).toBe(true);
    const ours = new Set(intents.map((i) => i.clientOrderId));
    const delivered = await afterOutbox(
      async () => (await reportedFills()).filter((c) => !c.refused && ours.has(c.fill.clientOrderId)),
      (d) => d.length >= intents.length,
    );
    // Another run of the outbox sends nothing more: each fill went once.
    const final = (await afterOutbox(reportedFills, () => false, 1)).filter(
      (c) => !c.refused && ours.has(c.fill.clientOrderId),
    );
    expect(final.map((c) => c.fill.fillId).sort()).toEqual(intents.map((i) => `${i.clientOrderId}:1`).sort());
    expect(delivered.every((c) => c.method === "recordFills")).toBe(true);
  });

  it("a batch risk refuses whole is sent again one fill at a time, and each accepted fill goes in once", async () => {
    const intents = await paperIncreases(3, "pp-single");
    await risk()._set({ refuseBatches: true });
    try {
      for (const i of intents) {
        const d = await approvedDecision(i);
        expect((await execution().submitOrder(i, d.decisionId, ADMIN)).ok).toBe(true);
      }
      const ours = new Set(intents.map((i) => i.clientOrderId));
      const mine = async () =>
        (await risk()._calls()).filter(
          (c) =>
            c.method === "recordFills" &&
            (c.fills as { clientOrderId: string }[]).some((f) => ours.has(f.clientOrderId)),
        );
      const calls = await afterOutbox(mine, (cs) => cs.filter((c) => !c.refused).length >= intents.length);
      // The stored fills went out together first, were refused as a batch, then went one per call.
      expect(calls[0]).toMatchObject({ refused: true });
      const firstBatch = calls[0]!.fills as { clientOrderId: string }[];
      expect(firstBatch.filter((f) => ours.has(f.clientOrderId))).toHaveLength(intents.length);
      const accepted = calls.filter((c) => !c.refused);
      expect(accepted.every((c) => (c.fills as unknown[]).length === 1)).toBe(true);
      const fillIds = accepted.flatMap((c) => (c.fills as { fillId: string }[]).map((f) => f.fillId));
      expect(fillIds.sort()).toEqual(intents.map((i) => `${i.clientOrderId}:1`).sort());
      // Accepted fills left the outbox: another run sends none of them again.
      expect((await afterOutbox(mine, () => false, 1)).length).toBe(calls.length);
    } finally {
      await risk()._set({ refuseBatches: false });
    }
  });

  it("keeps a fill in the outbox while risk refuses it and delivers it later", async () => {
    await risk()._set({ failFills: true });
    const i = intent({
      strategyId: PAPER,
      market: "KXPAPER-3",
      quantity: 1,
      limitPrice: "0.5000",
      effect: "increase",
    });
    try {
      const d = await approvedDecision(i);
      expect((await execution().submitOrder(i, d.decisionId, ADMIN)).ok).toBe(true);
      const tries = async () =>
        (await reportedFills()).filter((c) => c.fill.clientOrderId === i.clientOrderId);
      expect((await afterOutbox(tries, (t) => t.length > 0)).every((t) => t.refused)).toBe(true);
    } finally {
      await risk()._set({ failFills: false });
    }
    // The alarm retries every 5 s until risk accepts.
    const delivered = await afterOutbox(
      async () =>
        (await reportedFills()).filter((c) => !c.refused && c.fill.clientOrderId === i.clientOrderId),
      (t) => t.length > 0,
      8_000,
    );
    expect(delivered).toHaveLength(1);
  });
});
