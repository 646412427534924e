// The hedge path through the real loop: a filled Kalshi signal on a mapped market is followed by an IBKR
// hedge order priced from the instrument's mark (as risk holds it), that takes the same road as every order (risk
// decision, then the order manager); without a fresh mark no hedge is placed and the run says why.
import { describe, expect, it } from "vitest";
import { runTradingLoop } from "../src/loop";
import { ADMIN, audit, execution, hedgedPaperPair, ibkrMark, risk } from "./helpers";

describe("IBKR hedging through the loop", () => {
  it("follows a filled signal with a hedge priced from the instrument's mark, evaluated by risk and filled on paper", async () => {
    const hedged = await hedgedPaperPair("rv-hedged", "KXHEDGE-1", "0xpolyh", 265598);
    await risk().recordMarks([ibkrMark(265598, "200.0000", 1_000)]);

    const r = await runTradingLoop(hedged, ADMIN, Date.now());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.denied).toEqual([]);
    expect(r.value.submitted).toHaveLength(2);
    const [signalId, hedgeId] = r.value.submitted as [string, string];
    const signal = await execution().getOrder(signalId);
    const hedge = await execution().getOrder(hedgeId);
    if (!signal.ok || !hedge.ok) throw new Error("orders not stored");
    expect(signal.value).toMatchObject({ mode: "paper", state: "filled" });
    // Buying YES on Kalshi is hedged by selling the mapped instrument, half a share per contract filled, at the
    // mark less the default 0.5 % (200 × 0.995), not at the map's sellLimit.
    expect(hedge.value.intent).toMatchObject({
      venue: "ibkr",
      market: "265598",
      side: "sell",
      effect: "open",
      limitPrice: "199.0000",
      quantity: Math.floor(signal.value.filledQuantity * 0.5),
      evidenceHashes: ["1".repeat(64), "2".repeat(64), "3".repeat(64)],
    });
    expect(hedge.value.context).toMatchObject({
      kind: "hedge",
      hedgeOf: signalId,
      pairId: "pair-rv-hedged",
      note: expect.stringContaining("mark 200.0000"),
    });
    expect(hedge.value.decision?.approved).toBe(true);
    const evaluated = (await risk()._calls()).filter(
      (c) => c.method === "evaluate" && (c.intent as { venue?: string } | undefined)?.venue === "ibkr",
    );
    expect(evaluated).toHaveLength(1);
  });

  it("places no hedge without a mark, or with a stale one, and reports it in the run and its audit entry", async () => {
    const hedged = await hedgedPaperPair("rv-unmarked", "KXHEDGE-2", "0xpolyu", 777001);
    const r = await runTradingLoop(hedged, ADMIN, Date.now());
    if (!r.ok) throw new Error(r.error.message);
    // The Kalshi order filled; its hedge was not sent anywhere.
    expect(r.value.submitted).toHaveLength(1);
    expect(r.value.denied).toEqual([
      {
        clientOrderId: expect.stringMatching(/^pp-/),
        reason: expect.stringMatching(
          /^hedge_not_placed: hedge sell \d+ ibkr:777001 not placed: risk holds no mark for it$/,
        ),
      },
    ]);
    const hedgeId = r.value.denied[0]!.clientOrderId;
    expect((await execution().getOrder(hedgeId)).ok).toBe(false);
    const ibkrDecisions = (await risk()._calls()).filter(
      (c) => c.method === "evaluate" && (c.intent as { market?: string } | undefined)?.market === "777001",
    );
    expect(ibkrDecisions).toEqual([]);
    const runs = (await audit()._events()).filter((e) => e.type === "execution.loop_run");
    expect(runs.at(-1)?.payload).toMatchObject({ denied: r.value.denied });

    // A mark older than risk's limit (120 s) is no better.
    const stale = await hedgedPaperPair("rv-stale", "KXHEDGE-3", "0xpolys", 777002);
    await risk().recordMarks([ibkrMark(777002, "150.0000", 121_000)]);
    const s = await runTradingLoop(stale, ADMIN, Date.now());
    if (!s.ok) throw new Error(s.error.message);
    expect(s.value.denied).toEqual([
      expect.objectContaining({
        reason: expect.stringContaining("its mark is stale (age 121s, limit 120s)"),
      }),
    ]);
  });
});
