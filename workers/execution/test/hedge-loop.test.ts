// The hedge path through the real loop: a filled Kalshi signal on a mapped market is followed by an IBKR
// hedge order that takes the same road as every order (risk decision, then the order manager).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import { runTradingLoop } from "../src/loop";
import { ADMIN, execution, ingestion, onePaperPair, risk } from "./helpers";

describe("IBKR hedging through the loop", () => {
  it("follows a filled signal with a hedge order evaluated by risk and filled on paper", async () => {
    await onePaperPair("rv-hedged", "pair-h", "KXHEDGE-1", "0xpolyh");
    await ingestion()._setBook("kalshi", "KXHEDGE-1", {
      bids: [{ price: "0.3800", size: "50" }],
      asks: [{ price: "0.4000", size: "50" }],
      evidenceHash: "1".repeat(64),
    });
    await ingestion()._setBook("polymarket", "0xpolyh", {
      bids: [{ price: "0.5000", size: "500" }],
      asks: [{ price: "0.5200", size: "500" }],
      evidenceHash: "2".repeat(64),
    });
    const hedged = {
      ...(env as unknown as Env),
      HEDGE_MAP: JSON.stringify({
        "KXHEDGE-1": {
          conid: 265598,
          ratio: "0.5",
          direction: "opposite",
          buyLimit: "210.00",
          sellLimit: "190.00",
        },
      }),
    } as Env;

    const r = await runTradingLoop(hedged, ADMIN, Date.now());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.submitted).toHaveLength(2);
    const [signalId, hedgeId] = r.value.submitted as [string, string];
    const signal = await execution().getOrder(signalId);
    const hedge = await execution().getOrder(hedgeId);
    if (!signal.ok || !hedge.ok) throw new Error("orders not stored");
    expect(signal.value).toMatchObject({ mode: "paper", state: "filled" });
    // Buying YES on Kalshi is hedged by selling the mapped instrument, half a share per contract filled.
    expect(hedge.value.intent).toMatchObject({
      venue: "ibkr",
      market: "265598",
      side: "sell",
      limitPrice: "190.00",
      quantity: Math.floor(signal.value.filledQuantity * 0.5),
    });
    expect(hedge.value.context).toMatchObject({ kind: "hedge", hedgeOf: signalId, pairId: "pair-h" });
    expect(hedge.value.decision?.approved).toBe(true);
    const evaluated = (await risk()._calls()).filter(
      (c) => c.method === "evaluate" && (c.intent as { venue?: string } | undefined)?.venue === "ibkr",
    );
    expect(evaluated).toHaveLength(1);
  });
});
