import { describe, expect, it } from "vitest";
import { freshMark, intentMaker, risk, strategyActor } from "./worker-helpers";

// A position valued at a stale mark could hide a loss: openings wait for a fresh mark; de-risking never does.
const intent = intentMaker("stale", { strategyId: "w1", market: "MKT-W1", quantity: 10 });

async function fillOf(market: string, side: "buy" | "sell", quantity: number) {
  const r = await risk().recordFills([
    {
      fillId: `stale-fill-${market}-${side}`,
      strategyId: "w1",
      venue: "kalshi",
      market,
      side,
      quantity,
      price: "0.50",
      fee: "0",
      clientOrderId: `stale-order-${market}-${side}`,
      ts: new Date().toISOString(),
    },
  ]);
  expect(r).toMatchObject({ ok: true, value: { fills: [{ applied: true }] } });
}

describe("held positions whose marks went stale", () => {
  it("deny openings naming them, are listed as unmarked, and can always be reduced or closed", async () => {
    // Marked ten minutes ago (the limit is 120 s), then held: its value is doubtful now.
    await risk().recordMarks([freshMark("MKT-W1", "0.50", { agoMs: 600_000 })]);
    await fillOf("MKT-W1", "buy", 100);
    // A market that lost its price altogether, also held (short).
    await risk().recordMarks([freshMark("MKT-W2", "0.50")]);
    await fillOf("MKT-W2", "sell", 100);
    await risk().recordMarks([freshMark("MKT-W2", null, { category: null })]);
    await risk().recordMarks([freshMark("MKT-W3", "0.50")]);

    const opening = await risk().evaluate(intent({ market: "MKT-W3" }), strategyActor, "decide_and_consume");
    expect(opening.ok && opening.value.decision.approved).toBe(false);
    expect(opening.ok && opening.value.decision.reasons).toEqual([
      expect.objectContaining({
        code: "NO_EQUITY",
        message: expect.stringContaining("unmarked: w1|kalshi:MKT-W2"),
      }),
    ]);
    const exposure = await risk().exposure();
    expect(exposure.ok && [...exposure.value.unmarkedPositions].sort()).toEqual([
      "w1|kalshi:MKT-W1",
      "w1|kalshi:MKT-W2",
    ]);

    // De-risking needs no mark: reduce the stale one, close the unpriced one.
    const reduce = await risk().evaluate(
      intent({ side: "sell", effect: "reduce", quantity: 40 }),
      strategyActor,
      "decide_and_consume",
    );
    expect(reduce).toMatchObject({ ok: true, value: { decision: { approved: true, reasons: [] } } });
    const close = await risk().evaluate(
      intent({ market: "MKT-W2", side: "buy", effect: "close", quantity: 100 }),
      strategyActor,
      "decide_and_consume",
    );
    expect(close).toMatchObject({ ok: true, value: { decision: { approved: true } } });
    // Bounded by the position: with 40 already pending, a reduce of the remaining 61 would pass flat.
    const past = await risk().evaluate(
      intent({ side: "sell", effect: "reduce", quantity: 61 }),
      strategyActor,
      "decide_and_consume",
    );
    expect(past.ok && past.value.decision.reasons.map((r) => r.code)).toEqual(["EFFECT_MISMATCH"]);

    // With W2 closed (filled), only the stale W1 blocks openings, named with its age.
    await fillOf("MKT-W2", "buy", 100);
    const again = await risk().evaluate(intent({ market: "MKT-W3" }), strategyActor, "dry_run");
    expect(again.ok && again.value.reasons).toEqual([
      expect.objectContaining({
        code: "NO_EQUITY",
        limit: "120s",
        message: expect.stringMatching(
          /1 held position\(s\) valued at marks older than 120s: w1\|kalshi:MKT-W1 \(mark 6\d\ds old\)/,
        ),
      }),
    ]);
    // A fresh mark for W1 lets openings through again.
    await risk().recordMarks([freshMark("MKT-W1", "0.50")]);
    const fresh = await risk().evaluate(intent({ market: "MKT-W3" }), strategyActor, "dry_run");
    expect(fresh).toMatchObject({ ok: true, value: { approved: true } });
  });
});
