import { describe, expect, it } from "vitest";
import { freshMark, intentMaker, risk, strategyActor } from "./worker-helpers";

// Orders approved and submitted but not filled reserve their worst-case loss and fee, not only their exposure.
const intent = intentMaker("rsvloss", { strategyId: "q1", market: "MKT-Q", quantity: 400 });

describe("approved openings not yet filled", () => {
  it("cannot together pass the daily-loss limit that one combined order would hit; the reservation ends with the order", async () => {
    await risk().recordMarks([freshMark("MKT-LOSS", "0.50"), freshMark("MKT-Q", "0.50")]);
    expect(
      await risk().recordFills([
        {
          fillId: "rsvloss-1",
          strategyId: "q0",
          venue: "kalshi",
          market: "MKT-LOSS",
          side: "buy",
          quantity: 10_000,
          price: "0.50",
          fee: "0",
          clientOrderId: "rsvloss-order-1",
          ts: new Date().toISOString(),
        },
      ]),
    ).toMatchObject({ ok: true });
    // $2,990 lost today: 2.99 % of the default 3 %. Each 400 @ 0.50 pays a $7.00 fee: one fits, two do not.
    await risk().recordMarks([freshMark("MKT-LOSS", "0.2010")]);
    const combined = await risk().evaluate(intent({ quantity: 800 }), strategyActor, "dry_run");
    expect(combined.ok && combined.value.reasons.map((r) => r.code)).toEqual(["DAILY_LOSS_LIMIT_EXCEEDED"]);

    const first = intent();
    expect(await risk().evaluate(first, strategyActor, "decide_and_consume")).toMatchObject({
      ok: true,
      value: { decision: { approved: true } },
    });
    const second = await risk().evaluate(intent(), strategyActor, "decide_and_consume");
    expect(second.ok && second.value.decision.reasons).toEqual([
      expect.objectContaining({ code: "DAILY_LOSS_LIMIT_EXCEEDED", observed: "3.0040%", limit: "3.0000%" }),
    ]);
    // The first order ends unfilled: its reservation, fee included, is released and the next one fits.
    expect(await risk().releaseReservations([first.clientOrderId])).toMatchObject({
      ok: true,
      value: { released: 1 },
    });
    expect(await risk().evaluate(intent(), strategyActor, "decide_and_consume")).toMatchObject({
      ok: true,
      value: { decision: { approved: true } },
    });
  });
});
