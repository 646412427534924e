// The traded set execution gives ingestion's fast path, as values.
import type { ExecutionPosition, TradablePair } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import type { HedgeMap } from "../src/hedge";
import { tradedMarkets } from "../src/traded";

const leg = (marketId: string) => ({ marketId, termsHash: "0".repeat(64) }) as TradablePair["kalshi"];
const pair = (k: string, p: string): TradablePair => ({
  pairId: `${k}/${p}`,
  kalshi: leg(k),
  polymarket: leg(p),
  grade: "identical",
  yesMapsTo: "YES",
  approvedBy: "r@paulp.test",
  approvedAt: "2026-11-20T00:00:00.000Z",
});
const entry = (conid: number, category?: string) => ({
  conid,
  ratio: "1",
  direction: "same" as const,
  buyLimit: "200",
  sellLimit: "100",
  ...(category ? { category } : {}),
});
const position = (venue: ExecutionPosition["venue"], market: string, qty: number): ExecutionPosition => ({
  venue,
  market,
  mode: "paper",
  position: qty,
});

describe("tradedMarkets", () => {
  const hedges: HedgeMap = {
    "KX-A": entry(1, "Economics"),
    "category:Politics": entry(2),
    "KX-B": entry(3),
    "KX-C": entry(4, "Economics"),
    "category:Sports": entry(4),
  };

  it("while a strategy trades: both legs of each pair and every hedge instrument, with its category", () => {
    const out = tradedMarkets({ trading: true, pairs: [pair("KX-A", "0xa")], positions: [], hedges });
    expect(out).toEqual([
      { venue: "kalshi", market: "KX-A", why: "pair_leg", category: null },
      { venue: "polymarket", market: "0xa", why: "pair_leg", category: null },
      { venue: "ibkr", market: "1", why: "hedge", category: "Economics" },
      // From its `category:<name>` key.
      { venue: "ibkr", market: "2", why: "hedge", category: "Politics" },
      // No category said: none (risk refuses NO_CATEGORY rather than guess).
      { venue: "ibkr", market: "3", why: "hedge", category: null },
      // Two entries that disagree: none.
      { venue: "ibkr", market: "4", why: "hedge", category: null },
    ]);
  });

  it("with no strategy trading, only open positions (flat ones not), an IBKR one with its hedge category", () => {
    const out = tradedMarkets({
      trading: false,
      pairs: [pair("KX-A", "0xa")],
      positions: [position("kalshi", "KX-Z", 3), position("kalshi", "KX-FLAT", 0), position("ibkr", "1", -5)],
      hedges,
    });
    expect(out).toEqual([
      { venue: "kalshi", market: "KX-Z", why: "position", category: null },
      { venue: "ibkr", market: "1", why: "position", category: "Economics" },
    ]);
  });

  it("with no strategy trading, an instrument an open hedge obligation owes a hedge in (its retry needs the mark)", () => {
    const out = tradedMarkets({ trading: false, pairs: [], positions: [], hedges, owedConids: ["1", "1"] });
    expect(out).toEqual([{ venue: "ibkr", market: "1", why: "hedge", category: "Economics" }]);
  });

  it("names a market once, first for its position", () => {
    const out = tradedMarkets({
      trading: true,
      pairs: [pair("KX-A", "0xa")],
      positions: [position("kalshi", "KX-A", 2)],
      hedges: {},
    });
    expect(out.filter((m) => m.market === "KX-A")).toEqual([
      { venue: "kalshi", market: "KX-A", why: "position", category: null },
    ]);
  });
});
