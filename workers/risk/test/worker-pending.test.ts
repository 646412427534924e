import { RiskReasonCode } from "@paulp/contracts";
import { beforeEach, describe, expect, it } from "vitest";
import { freshMark, intentMaker, operator, risk, strategyActor } from "./worker-helpers";

// Approved orders that have not filled yet: reducing ones count in the effect check, and an opening order may
// not take the other side of one still pending.
const intent = intentMaker("pend", { strategyId: "p1", market: "MKT-P", quantity: 10 });

async function fillOf(clientOrderId: string, side: "buy" | "sell", quantity: number, strategyId = "p1") {
  const r = await risk().recordFills([
    {
      fillId: `fill-${clientOrderId}`,
      strategyId,
      venue: "kalshi",
      market: "MKT-P",
      side,
      quantity,
      price: "0.50",
      fee: "0",
      clientOrderId,
      ts: new Date().toISOString(),
    },
  ]);
  expect(r).toMatchObject({ ok: true, value: { fills: [{ applied: true }] } });
}

async function decide(overrides: Parameters<typeof intent>[0]) {
  const r = await risk().evaluate(intent(overrides), strategyActor, "decide_and_consume");
  if (!r.ok) throw new Error(r.error.message);
  return r.value.decision;
}

beforeEach(async () => {
  await risk().recordMarks([freshMark("MKT-P", "0.50")]);
});

describe("approved orders still pending", () => {
  it("an opening order cannot take the other side of one still pending; once it ends, it can", async () => {
    const buy = intent({ strategyId: "p2" });
    const first = await risk().evaluate(buy, strategyActor, "decide_and_consume");
    expect(first.ok && first.value.decision.approved).toBe(true);
    const sell = await decide({ strategyId: "p2", side: "sell" });
    expect(sell.approved).toBe(false);
    expect(sell.reasons.map((r) => r.code)).toEqual([RiskReasonCode.opposingOrderPending]);
    // The same side is fine (it only adds exposure, which the limits count).
    const buy2 = intent({ strategyId: "p2" });
    const second = await risk().evaluate(buy2, strategyActor, "decide_and_consume");
    expect(second.ok && second.value.decision.approved).toBe(true);
    // One buy ends unfilled: the other still rests, so the sell is still refused.
    expect(await risk().releaseReservations([buy.clientOrderId])).toMatchObject({
      ok: true,
      value: { released: 1 },
    });
    expect((await decide({ strategyId: "p2", side: "sell" })).approved).toBe(false);
    // Both ended: the sell may open now.
    expect(await risk().releaseReservations([buy2.clientOrderId])).toMatchObject({
      ok: true,
      value: { released: 1 },
    });
    expect((await decide({ strategyId: "p2", side: "sell" })).approved).toBe(true);
  });

  // Last in the file: it leaves the breaker in HALT.
  it("in HALT, two closes of one position cannot both pass and flip it", async () => {
    const open = intent({ strategyId: "p3" });
    await fillOf(open.clientOrderId, "buy", 10, "p3");
    expect(
      await risk().transitionBreaker({ targetState: "HALT", reason: "Emergency halt" }, operator),
    ).toMatchObject({ ok: true });
    const close1 = intent({ strategyId: "p3", side: "sell", effect: "close" });
    const first = await risk().evaluate(close1, strategyActor, "decide_and_consume");
    expect(first.ok && first.value.decision.approved).toBe(true);
    const second = await decide({ strategyId: "p3", side: "sell", effect: "close" });
    expect(second.approved).toBe(false);
    expect(second.reasons.map((r) => r.code)).toEqual([RiskReasonCode.effectMismatch]);
    expect(second.reasons[0]!.message).toMatch(/pending in approved reducing orders/);
    // A reduce of part of it is refused too: the first close already takes the position to flat.
    expect((await decide({ strategyId: "p3", side: "sell", effect: "reduce", quantity: 5 })).approved).toBe(
      false,
    );
    // The first close ends unfilled: the position is long 10 again for the effect check, and a close passes.
    await risk().releaseReservations([close1.clientOrderId]);
    const close3 = intent({ strategyId: "p3", side: "sell", effect: "close" });
    const third = await risk().evaluate(close3, strategyActor, "decide_and_consume");
    expect(third.ok && third.value.decision.approved).toBe(true);
    // It fills: the fill takes its pending reduction with it, so flat is flat (nothing counted twice).
    await fillOf(close3.clientOrderId, "sell", 10, "p3");
    const after = await decide({ strategyId: "p3", side: "sell", effect: "close" });
    expect(after.approved).toBe(false);
    expect(after.reasons[0]!.message).toMatch(/close with position=0 gives -10$/);
  });
});
