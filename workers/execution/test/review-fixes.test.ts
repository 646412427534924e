// Failure paths found in review: each keeps an order's exposure visible to risk, or refuses to act unaudited.
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  afterOutbox,
  approvedDecision,
  askOnlyBook,
  audit,
  execution,
  ibkrIntent,
  intent,
  liveOnSimulator,
  orderManagerStub,
  releasesOf,
  risk,
  simAdmin,
  simIbkrOrders,
  TICKERS,
} from "./helpers";

const LIVE = "rv-live-rf";
const PAPER = "rv-paper-rf";

beforeAll(() => liveOnSimulator(LIVE));

describe("placeOrder when risk's answer is lost", () => {
  it("keeps the order as rejected, so whatever risk may have reserved under its id is released", async () => {
    const i = intent({ strategyId: PAPER, market: "KXPAPER-RF1" });
    await risk()._set({ decideError: "service_unavailable" });
    try {
      const r = await execution().placeOrder(i, ADMIN);
      expect(!r.ok && r.error.code).toBe("service_unavailable");
    } finally {
      await risk()._set({ decideError: null });
    }
    const stored = await execution().getOrder(i.clientOrderId);
    expect(stored.ok && stored.value.state).toBe("rejected");
    expect(
      await afterOutbox(
        () => releasesOf(i.clientOrderId),
        (x) => x.length > 0,
      ),
    ).toHaveLength(1);
  });
});

describe("the ended-order outbox", () => {
  it("one order's fill that risk keeps refusing does not hold back another order's release", async () => {
    await askOnlyBook("KXPAPER-RF2", "0.5000", "100", "e");
    await risk()._set({ failFills: true });
    const filled = intent({ strategyId: PAPER, market: "KXPAPER-RF2", quantity: 1, limitPrice: "0.5000" });
    try {
      expect((await execution().placeOrder(filled, ADMIN)).ok).toBe(true);
    } finally {
      // Risk accepts releases again but still refuses fills: only the unfilled order may be released.
      await risk()._set({ failFills: false, refuseFills: true });
    }
    const unfilled = intent({ strategyId: PAPER, market: "KXPAPER-RF2", quantity: 1, limitPrice: "0.4000" });
    const r = await execution().placeOrder(unfilled, ADMIN);
    expect(r.ok && r.value.order.state).toBe("cancelled");
    try {
      expect(
        await afterOutbox(
          async () => (await releasesOf(unfilled.clientOrderId)).filter(({ c }) => c.refused === false),
          (x) => x.length === 1,
          8_000,
        ),
      ).toHaveLength(1);
      expect((await releasesOf(filled.clientOrderId)).filter(({ c }) => c.refused === false)).toEqual([]);
    } finally {
      await risk()._set({ refuseFills: false });
    }
  });
});

describe("a live order cut off while being sent", () => {
  it("is moved to unknown and looked up at the venue, never left in pending_submit", async () => {
    const coid = "rf-cutoff-000001";
    const old = new Date(Date.now() - 60_000).toISOString();
    const i = intent({ strategyId: LIVE, market: TICKERS[7]!, clientOrderId: coid });
    await runInDurableObject(orderManagerStub(), async (_o, state) => {
      state.storage.sql.exec(
        `INSERT INTO orders (coid, intent, intent_hash, decision_id, decision, strategy_id, venue, market, side, quantity, mode, state, created_at, updated_at, history)
         VALUES (?, ?, 'h', 'rd_x', '{}', ?, 'kalshi', ?, 'buy', 1, 'live', 'pending_submit', ?, ?, '[]')`,
        coid,
        JSON.stringify(i),
        LIVE,
        TICKERS[7]!,
        old,
        old,
      );
    });
    expect((await execution().resolveUnknown(ADMIN)).ok).toBe(true);
    const after = await execution().getOrder(coid);
    expect(after.ok && after.value.state).toBe("unknown");
    expect(after.ok && after.value.reason).toMatch(/restarted|not found|unknown/);
  });
});

describe("IBKR questions", () => {
  it("an allowlisted question is refused when its confirmation cannot be audited; nothing is placed", async () => {
    await simAdmin("ibkr", "behaviour", { questions: ["o354"] });
    const i = ibkrIntent(LIVE, 2);
    const d = await approvedDecision(i);
    await audit()._set({ failingTypes: ["execution.ibkr_question_confirmed"] });
    try {
      const r = await execution().submitOrder(i, d.decisionId, ADMIN);
      expect(r.ok && r.value.order.state).toBe("rejected");
      expect(r.ok && r.value.order.reason).toMatch(/question_refused.*could not be audited/);
    } finally {
      await audit()._set({ failingTypes: [] });
    }
    expect((await simIbkrOrders()).filter((o) => o.cOID === i.clientOrderId)).toEqual([]);
  });
});
