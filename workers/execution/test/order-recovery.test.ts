import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { OrderIntent } from "@paulp/contracts";
import { formatDollars, parseDollars, parseQuantity, worstCaseFee } from "@paulp/kit";
import { untilSettled } from "@paulp/testing/until";
import { beforeAll, describe, expect, it } from "vitest";
import type { OrderDesk } from "../src/orders/desk";
import { clients } from "../src/orders/desk";
import { resolveUnknown } from "../src/orders/recovery";
import type { KalshiOrderView } from "../src/venues/kalshi";
import {
  ADMIN,
  afterOutbox,
  approvedDecision,
  audit,
  execution,
  ibkrIntent,
  intent,
  kalshiOrderFault,
  liveOnSimulator,
  orderManagerStub,
  releasesOf,
  TICKERS,
} from "./helpers";

const LIVE = "rv-live-recovery";

beforeAll(() => liveOnSimulator(LIVE));

/** An IBKR order the gateway accepted (its fills are learnt when next polled). */
async function submittedIbkrOrder(): Promise<OrderIntent> {
  const i = ibkrIntent(LIVE, 2);
  const d = await approvedDecision(i);
  const r = await execution().submitOrder(i, d.decisionId, ADMIN);
  expect(r.ok && r.value.order.state).toBe("submitted");
  return i;
}

const updatesOf = async (coid: string) =>
  (await audit()._events()).filter(
    (e) => e.type === "execution.order_updated" && e.payload?.clientOrderId === coid,
  );

/** Plant the row placeOrder leaves when the object restarts while risk decides, last touched at `at`. */
async function plantCutOffClaim(i: OrderIntent, at: string): Promise<void> {
  await runInDurableObject(orderManagerStub(), async (_o, state) => {
    state.storage.sql.exec(
      `INSERT INTO orders (coid, intent, intent_hash, decision_id, strategy_id, venue, market, side, quantity, mode, state, context, created_at, updated_at, history)
       VALUES (?,?,?,?,?,?,?,?,?,'live','pending_submit',NULL,?,?,?)`,
      i.clientOrderId,
      JSON.stringify(i),
      "h".repeat(64),
      "",
      i.strategyId,
      i.venue,
      i.market,
      i.side,
      i.quantity,
      at,
      at,
      JSON.stringify([{ state: "pending_submit", at, reason: null }]),
    );
  });
}

describe("what the venue reports later is in the audit chain", () => {
  it("an IBKR order found filled by the poll has an audited update, with its fill", async () => {
    const i = await submittedIbkrOrder();
    await execution().resolveUnknown(ADMIN);
    const after = await execution().getOrder(i.clientOrderId);
    expect(after.ok && after.value.state).toBe("filled");
    const updated = await updatesOf(i.clientOrderId);
    expect(updated).toHaveLength(1);
    expect(updated[0]!.payload).toMatchObject({ from: "submitted", state: "filled", filled: 2 });
    // Nothing changed since: a second poll records nothing more.
    await execution().resolveUnknown(ADMIN);
    expect(await updatesOf(i.clientOrderId)).toHaveLength(1);
  });

  it("an update whose append fails is held and appended later by the alarm (it cannot be refused after the fact)", async () => {
    const i = await submittedIbkrOrder();
    await audit()._set({ failingTypes: ["execution.order_updated"] });
    try {
      await execution().resolveUnknown(ADMIN);
      const o = await execution().getOrder(i.clientOrderId);
      expect(o.ok && o.value.state).toBe("filled");
      expect(await updatesOf(i.clientOrderId)).toHaveLength(0);
    } finally {
      await audit()._set({ failingTypes: [] });
    }
    await runDurableObjectAlarm(orderManagerStub());
    const held = await updatesOf(i.clientOrderId);
    expect(held).toHaveLength(1);
    expect(held[0]!.payload).toMatchObject({ from: "submitted", state: "filled", filled: 2 });
  });
});

describe("an unknown order found at the venue", () => {
  /** An unknown live Kalshi order of 2 at a 0.65 limit: sent, its answer lost, to be looked up by the sweep. */
  async function plantUnknown(market: string): Promise<OrderIntent> {
    const i = intent({ strategyId: LIVE, market, quantity: 2, limitPrice: "0.6500" });
    await plantCutOffClaim(i, new Date().toISOString());
    await runInDurableObject(orderManagerStub(), async (_o, state) => {
      state.storage.sql.exec(
        "UPDATE orders SET state = 'unknown', decision_id = 'rd_planted' WHERE coid = ?",
        i.clientOrderId,
      );
    });
    return i;
  }

  /** An unknown order resolved by the sweep against `venue`'s answer. */
  async function resolvedWith(market: string, venue: Pick<KalshiOrderView, "avgPrice" | "fee">) {
    const i = await plantUnknown(market);
    const found: KalshiOrderView = {
      orderId: `ko-${i.clientOrderId}`,
      clientOrderId: i.clientOrderId,
      ticker: i.market,
      status: "executed",
      filled: 2,
      remaining: 0,
      ...venue,
    };
    await runInDurableObject(orderManagerStub(), async (o) => {
      const desk = (o as unknown as { desk: OrderDesk }).desk;
      const venues = clients(desk, ADMIN);
      venues.kalshi.findByClientOrderId = async () => ({ ok: true, value: found });
      const r = await resolveUnknown(desk, ADMIN, venues);
      expect(r.ok && r.value.resolved).toBe(1);
    });
    const o = await execution().getOrder(i.clientOrderId);
    if (!o.ok) throw new Error(o.error.message);
    expect(o.value).toMatchObject({ state: "filled", filledQuantity: 2 });
    return o.value;
  }
  // Kalshi's taker fee on 2 contracts at `price` (kit's schedule, tested on its own), rounded up.
  const worstAt = (price: string) =>
    formatDollars(worstCaseFee("kalshi", parseQuantity(2), parseDollars(price)), 4, "ceil");

  it("without a fee in the venue's answer is charged the schedule's worst case at its fills' price, never zero", async () => {
    expect(worstAt("0.6000")).not.toBe("0.0000");
    const o = await resolvedWith(TICKERS[5]!, { avgPrice: "0.6000", fee: null });
    expect(o).toMatchObject({ avgFillPrice: "0.6000", fees: worstAt("0.6000") });
  });

  it("without a fee nor a fill price is charged the worst case at its limit", async () => {
    const o = await resolvedWith(TICKERS[5]!, { avgPrice: null, fee: null });
    expect(o).toMatchObject({ avgFillPrice: "0.6500", fees: worstAt("0.6500") });
  });

  /** What the venue answers for an order it filled: 2 contracts at 0.60, fee 0.03. */
  const filledAtVenue = (ticker: string, coid: string) => ({
    ok: true as const,
    value: {
      orderId: `ko-${coid}`,
      clientOrderId: coid,
      ticker,
      status: "executed" as const,
      filled: 2,
      remaining: 0,
      avgPrice: "0.6000",
      fee: "0.0300",
    },
  });

  it("one order whose refresh throws is left for the next sweep; the sweep goes on to the others", async () => {
    const faulty = await plantUnknown(TICKERS[3]!);
    const fine = await plantUnknown(TICKERS[3]!);
    await runInDurableObject(orderManagerStub(), async (o) => {
      const desk = (o as unknown as { desk: OrderDesk }).desk;
      const venues = clients(desk, ADMIN);
      venues.kalshi.findByClientOrderId = async (ticker, coid) => {
        if (coid === faulty.clientOrderId) throw new Error("client fault");
        return filledAtVenue(ticker, coid);
      };
      const r = await resolveUnknown(desk, ADMIN, venues);
      expect(r.ok).toBe(true);
    });
    const left = await execution().getOrder(faulty.clientOrderId);
    expect(left.ok && left.value.state).toBe("unknown");
    const resolved = await execution().getOrder(fine.clientOrderId);
    expect(resolved.ok && resolved.value).toMatchObject({
      state: "filled",
      filledQuantity: 2,
      fees: "0.0300",
    });
    // The next sweep, its client well again, resolves the one left.
    await runInDurableObject(orderManagerStub(), async (o) => {
      const desk = (o as unknown as { desk: OrderDesk }).desk;
      const venues = clients(desk, ADMIN);
      venues.kalshi.findByClientOrderId = async (ticker, coid) => filledAtVenue(ticker, coid);
      const r = await resolveUnknown(desk, ADMIN, venues);
      expect(r.ok && r.value.resolved).toBe(1);
    });
    const later = await execution().getOrder(faulty.clientOrderId);
    expect(later.ok && later.value.state).toBe("filled");
  });

  it("with a fee the venue gives, even zero, is charged that fee", async () => {
    const o = await resolvedWith(TICKERS[5]!, { avgPrice: "0.6000", fee: "0.0000" });
    expect(o).toMatchObject({ avgFillPrice: "0.6000", fees: "0.0000" });
  });
});

describe("a slow send is not a send cut off by a restart", () => {
  it("the recovery sweep leaves an order this instance is still sending alone", async () => {
    // The venue holds the order 2 s (under the tests' 5 s venue timeout, and under the 5 s the simulator allows a
    // signature to age in transit): the sweep below runs while it is there.
    // 300 ms was the window once, and a loaded machine let the send finish before the sweep (seen in a full run).
    await kalshiOrderFault({ kind: "latency", latencyMs: 2_000 });
    const i = intent({ strategyId: LIVE, market: TICKERS[4]!, quantity: 1 });
    const d = await approvedDecision(i);
    const sending = execution().submitOrder(i, d.decisionId, ADMIN);
    // Wait for the order to be stored as sent (the event), then make it look long stale (as an IBKR reauth and
    // question rounds can).
    // The send waits at the simulator (another worker), which tells no one it has the order: read until stored.
    const stored = await untilSettled(
      () => execution().getOrder(i.clientOrderId),
      (o) => o.ok,
      60,
    );
    expect(stored.ok && stored.value.state).toBe("pending_submit");
    const old = new Date(Date.now() - 5 * 60_000).toISOString();
    await runInDurableObject(orderManagerStub(), async (_o, state) => {
      state.storage.sql.exec("UPDATE orders SET updated_at = ? WHERE coid = ?", old, i.clientOrderId);
    });
    await execution().resolveUnknown(ADMIN);
    const during = await execution().getOrder(i.clientOrderId);
    expect(during.ok && during.value.state).toBe("pending_submit");
    const r = await sending;
    expect(r.ok && r.value.order.state).toBe("filled");
    expect(r.ok && r.value.order.history.map((h) => h.state)).toEqual(["pending_submit", "filled"]);
  });
});

describe("a claim cut off before its decision was stored", () => {
  it("ends rejected after the grace period, audited, and risk is told to release it", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[7]!, quantity: 1 });
    await plantCutOffClaim(i, new Date(Date.now() - 11 * 60_000).toISOString());
    await execution().resolveUnknown(ADMIN);
    const o = await execution().getOrder(i.clientOrderId);
    expect(o.ok && o.value).toMatchObject({
      state: "rejected",
      reason: expect.stringMatching(/nothing sent/),
    });
    const outcome = (await audit()._events()).find(
      (e) => e.type === "execution.order_outcome" && e.payload?.clientOrderId === i.clientOrderId,
    );
    expect(outcome?.payload).toMatchObject({ state: "rejected", filled: 0 });
    expect(
      await afterOutbox(
        () => releasesOf(i.clientOrderId),
        (x) => x.length > 0,
        5_000,
      ),
    ).not.toHaveLength(0);
  });

  it("a recent claim (risk may still be deciding) is left alone", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[6]!, quantity: 1 });
    await plantCutOffClaim(i, new Date(Date.now() - 60_000).toISOString());
    await execution().resolveUnknown(ADMIN);
    const o = await execution().getOrder(i.clientOrderId);
    expect(o.ok && o.value.state).toBe("pending_submit");
  });
});
