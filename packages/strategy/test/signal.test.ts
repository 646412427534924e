import { describe, expect, it } from "vitest";
import { crossVenueSignal, rvParams } from "../src/signal";

describe("cross-venue relative value", () => {
  const params = rvParams({});
  const book = (bid: string, ask: string, size = "100") => ({
    bids: [{ price: bid, size }],
    asks: [{ price: ask, size }],
  });

  it("buys Kalshi when it is cheaper than Polymarket by more than fees plus margin", () => {
    const s = crossVenueSignal({
      kalshi: book("0.4000", "0.4200"),
      polymarket: book("0.5000", "0.5200"),
      yesMapsTo: "YES",
      allocation: "1000.00",
      position: 0,
      params,
    });
    expect(s).toMatchObject({ side: "buy", effect: "open", limitPrice: "0.4200", fairPrice: "0.5100" });
    expect(s!.quantity).toBeGreaterThan(0);
    expect(s!.quantity).toBeLessThanOrEqual(params.maxContracts);
  });

  it("flips Polymarket's price when Kalshi's YES is Polymarket's NO", () => {
    // Polymarket YES mid 0.51 → Kalshi-YES fair 0.49: Kalshi at 0.40/0.42 is now only 0.07 cheap, still a buy;
    // at 0.58/0.60 Kalshi is dear against 0.49, so it sells.
    const s = crossVenueSignal({
      kalshi: book("0.5800", "0.6000"),
      polymarket: book("0.5000", "0.5200"),
      yesMapsTo: "NO",
      allocation: "1000.00",
      position: 0,
      params,
    });
    expect(s).toMatchObject({ side: "sell", fairPrice: "0.4900", limitPrice: "0.5800" });
  });

  it("does nothing inside fees plus margin", () => {
    expect(
      crossVenueSignal({
        kalshi: book("0.4900", "0.5100"),
        polymarket: book("0.5000", "0.5200"),
        yesMapsTo: "YES",
        allocation: "1000.00",
        position: 0,
        params,
      }),
    ).toBeNull();
  });

  it("sizes within allocation, book and position cap, and never flips through zero", () => {
    const small = crossVenueSignal({
      kalshi: book("0.4000", "0.4200"),
      polymarket: book("0.5000", "0.5200"),
      yesMapsTo: "YES",
      allocation: "10.00",
      position: 0,
      params,
    });
    // 5% of $10 = $0.50 buys one contract at 0.42.
    expect(small?.quantity).toBe(1);
    const capped = crossVenueSignal({
      kalshi: book("0.4000", "0.4200"),
      polymarket: book("0.5000", "0.5200"),
      yesMapsTo: "YES",
      allocation: "1000.00",
      position: 50,
      params,
    });
    expect(capped).toBeNull();
    const reducing = crossVenueSignal({
      kalshi: book("0.5800", "0.6000"),
      polymarket: book("0.5000", "0.5200"),
      yesMapsTo: "YES",
      allocation: "1000.00",
      position: 3,
      params,
    });
    expect(reducing).toMatchObject({ side: "sell", effect: "close", quantity: 3 });
  });
});
