import { runInDurableObject } from "cloudflare:test";
import { RiskReasonCode } from "@paulp/contracts";
import { canonicalHash } from "@paulp/kit";
import { beforeEach, describe, expect, it } from "vitest";
import type { RiskGovernor } from "../src/risk-governor";
import {
  audit,
  entriesOf,
  freshMark,
  intentMaker,
  operator,
  risk,
  strategyActor,
  testEnv,
  transitionAtCurrent,
} from "./worker-helpers";

const intent = intentMaker("eac", { strategyId: "e1", market: "MKT-E", quantity: 10 });

type Stored = { used: boolean; decision: { decisionId: string } };
async function storedDecision(decisionId: string): Promise<Stored | undefined> {
  return runInDurableObject(testEnv.RISK_GOVERNOR.getByName("portfolio"), async (_i: RiskGovernor, state) =>
    state.storage.get<Stored>(`decision:${decisionId}`),
  );
}

beforeEach(async () => {
  await risk().recordMarks([freshMark("MKT-E", "0.50")]);
});

describe("evaluate, decide_and_consume", () => {
  it("an approval is audited as consumed, stored used in the same write, and can never be consumed again", async () => {
    const i = intent();
    const r = await risk().evaluate(i, strategyActor, "decide_and_consume");
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.decision).toMatchObject({ approved: true, breakerState: "NORMAL" });
    expect(r.value.decision.intentHash).toBe(await canonicalHash("paulp.intent.v1", i));
    expect(r.value.breaker.state).toBe("NORMAL");
    expect(typeof r.value.breaker.version).toBe("number");
    const [entry] = await entriesOf("risk.decision");
    expect(entry?.payload).toMatchObject({
      decisionId: r.value.decision.decisionId,
      approved: true,
      consumed: true,
    });
    // Durable as used, not only in memory.
    expect(await storedDecision(r.value.decision.decisionId)).toMatchObject({ used: true });
    expect(await risk().consume(r.value.decision.decisionId, r.value.decision.intentHash)).toMatchObject({
      ok: false,
      error: { code: "conflict", message: "decision already used" },
    });
    // The approval still reserves its exposure and takes its client order id, as `decide` does.
    const again = await risk().evaluate(i, strategyActor, "decide_and_consume");
    expect(again.ok && again.value.decision.approved).toBe(false);
    expect(again.ok && again.value.decision.reasons.map((x) => x.code)).toContain(
      RiskReasonCode.duplicateClientOrderId,
    );
  });

  it("a denial is answered as a decision, audited, and not marked consumed", async () => {
    const r = await risk().evaluate(
      intent({ market: "NO-SUCH-MARKET" }),
      strategyActor,
      "decide_and_consume",
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.decision.approved).toBe(false);
    expect(r.value.decision.reasons.map((x) => x.code)).toEqual([RiskReasonCode.unknownMarket]);
    const [entry] = await entriesOf("risk.decision");
    expect(entry?.payload).toMatchObject({ approved: false, consumed: false });
    expect(await storedDecision(r.value.decision.decisionId)).toMatchObject({ used: false });
  });

  it("the audit append failing: no decision, nothing reserved, audit_unavailable", async () => {
    await audit()._set({ failing: true });
    const i = intent();
    try {
      expect(await risk().evaluate(i, strategyActor, "decide_and_consume")).toMatchObject({
        ok: false,
        error: { code: "audit_unavailable" },
      });
    } finally {
      await audit()._set({ failing: false });
    }
    // The failed attempt took nothing: the same client order id is approved next time.
    const again = await risk().evaluate(i, strategyActor, "decide_and_consume");
    expect(again).toMatchObject({ ok: true, value: { decision: { approved: true } } });
    await transitionAtCurrent("NORMAL", "audit back");
    await risk().reportSuccess("audit_failure");
  });

  it("bad input is a validation error and records nothing", async () => {
    const r = await risk().evaluate({ ...intent(), quantity: -1 }, strategyActor, "decide_and_consume");
    expect(r).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    expect(await audit()._events()).toEqual([]);
  });

  it("a submitted order's reservation holds until execution says it ended; an unconsumed one only 30 s", async () => {
    type Rsv = { clientOrderId: string; expiresAtMs: number; qty: number };
    const reservations = async () =>
      runInDurableObject(testEnv.RISK_GOVERNOR.getByName("portfolio"), async (_i: RiskGovernor, state) => [
        ...(await state.storage.list<Rsv>({ prefix: "rsv:" })).values(),
      ]);
    const t0 = Date.now();
    const recorded = intent();
    const r1 = await risk().evaluate(recorded, strategyActor, "decide");
    // The reservation's clock is read inside the call: between these two readings, however slow the machine.
    const t1 = Date.now();
    expect(r1.ok && r1.value.approved).toBe(true);
    const placed = intent();
    const r2 = await risk().evaluate(placed, strategyActor, "decide_and_consume");
    expect(r2.ok && r2.value.decision.approved).toBe(true);
    const byCoid = async () => new Map((await reservations()).map((r) => [r.clientOrderId, r]));
    let now = await byCoid();
    expect(now.get(recorded.clientOrderId)!.expiresAtMs).toBeGreaterThanOrEqual(t0 + 30_000);
    expect(now.get(recorded.clientOrderId)!.expiresAtMs).toBeLessThanOrEqual(t1 + 30_000);
    expect(now.get(placed.clientOrderId)!.expiresAtMs - t0).toBeGreaterThan(23 * 3600_000);
    // Consuming the recorded one (submitOrder's path) extends it the same way, durably.
    if (!r1.ok) return;
    expect(await risk().consume(r1.value.decisionId, r1.value.intentHash)).toMatchObject({
      ok: true,
    });
    now = await byCoid();
    expect(now.get(recorded.clientOrderId)!.expiresAtMs - t0).toBeGreaterThan(23 * 3600_000);

    // MKT-E (the only marked market here) counts every reservation; releasing one removes its 10 × $0.50.
    const concentration = async () => {
      const e = await risk().exposure();
      if (!e.ok) throw new Error(e.error.message);
      const pct = Number(e.value.limits.find((l) => l.limit === "maxConcentrationPct")!.observedPct);
      return { pct, equity: Number(e.value.equity) };
    };
    const before = await concentration();
    expect(before.pct).toBeGreaterThan(0);
    expect(await risk().releaseReservations([placed.clientOrderId, "not-an-order-0001"])).toEqual({
      ok: true,
      value: { released: 1 },
    });
    now = await byCoid();
    expect(now.has(placed.clientOrderId)).toBe(false);
    expect(now.has(recorded.clientOrderId)).toBe(true);
    // Released from the view too: the exposure no longer counts it.
    const after = await concentration();
    expect(before.pct - after.pct).toBeCloseTo((5 / after.equity) * 100, 3);
    expect(await risk().releaseReservations([])).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
    expect(await risk().releaseReservations(["bad id!"])).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
  });

  // Last in the file: it leaves the breaker in HALT.
  it("in HALT an opening intent is denied (with the state it read) and a reducing one is approved", async () => {
    await risk().recordFills([
      {
        fillId: "eac-fill-1",
        strategyId: "e2",
        venue: "kalshi",
        market: "MKT-E",
        side: "buy",
        quantity: 10,
        price: "0.50",
        fee: "0",
        clientOrderId: "eac-fill-1",
        ts: new Date().toISOString(),
      },
    ]);
    expect(
      await risk().transitionBreaker({ targetState: "HALT", reason: "Emergency halt" }, operator),
    ).toMatchObject({ ok: true });
    const opening = await risk().evaluate(intent(), strategyActor, "decide_and_consume");
    if (!opening.ok) throw new Error(opening.error.message);
    expect(opening.value.breaker.state).toBe("HALT");
    expect(opening.value.decision.approved).toBe(false);
    expect(opening.value.decision.reasons.map((x) => x.code)).toContain(RiskReasonCode.breakerHalted);
    const reducing = await risk().evaluate(
      intent({ strategyId: "e2", side: "sell", effect: "reduce", quantity: 5 }),
      strategyActor,
      "decide_and_consume",
    );
    expect(reducing).toMatchObject({
      ok: true,
      value: { decision: { approved: true }, breaker: { state: "HALT" } },
    });
  });
});
