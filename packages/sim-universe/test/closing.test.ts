// Markets of the realistic universe close while the simulator runs, so `pnpm dev` exercises ingestion's
// closed-market paths (Kalshi's lookup by ticker and min_updated_ts crawl, Polymarket's lookup by condition id).
import { afterEach, describe, expect, it } from "vitest";
import {
  CLOSING,
  closesAt,
  kalshiCounts,
  kalshiMarketStatus,
  kalshiMarketWire,
  POLYMARKET_SHAPES,
  polymarketClosed,
  polymarketMarketWire,
  polymarketUniverse,
  setClosingEpoch,
} from "../src/index";

afterEach(() => setClosingEpoch(null));

const EPOCH = Date.UTC(2026, 11, 1, 12);
const LATER = EPOCH + CLOSING.firstMs + CLOSING.spanMs;

describe("the realistic universe closes markets over time", () => {
  it("Kalshi: some open markets are active at the session's start and closed (a listed status) once their time comes", () => {
    setClosingEpoch(EPOCH);
    const closing: number[] = [];
    for (let i = 0; i < kalshiCounts("realistic").markets && closing.length < 5; i++)
      if (
        kalshiMarketStatus(1, "realistic", i, EPOCH) === "active" &&
        kalshiMarketStatus(1, "realistic", i, LATER) === "closed"
      )
        closing.push(i);
    expect(closing).toHaveLength(5);
    for (const i of closing) {
      const before = kalshiMarketWire(1, "realistic", i, EPOCH);
      const after = kalshiMarketWire(1, "realistic", i, LATER);
      expect(before.status).toBe("active");
      expect(after.status).toBe("closed");
      // The change is metadata: updated_time moves to the closing instant, so min_updated_ts finds it.
      expect(Date.parse(after.updated_time!)).toBeGreaterThan(EPOCH);
      expect(Date.parse(after.updated_time!)).toBeLessThanOrEqual(LATER);
      expect(after.yes_bid_dollars).toBe("0.0000");
    }
    // The small universe (tests) and a simulator with no session never close a market over time.
    setClosingEpoch(null);
    for (const i of closing) expect(kalshiMarketStatus(1, "realistic", i, LATER)).toBe("active");
    expect(closesAt("small", "anything")).toBeNull();
  });

  it("Polymarket: some open gamma markets turn closed: true (with closedTime), never a planted pair", () => {
    setClosingEpoch(EPOCH);
    const shape = POLYMARKET_SHAPES.realistic;
    const u = polymarketUniverse(1, shape);
    const turning = u.poly.filter(
      (m) => !polymarketClosed(m, EPOCH, shape) && polymarketClosed(m, LATER, shape),
    );
    expect(turning.length).toBeGreaterThan(50);
    expect(turning.some((m) => Number(m.id) - 500_000 < 36)).toBe(false);
    const wire = polymarketMarketWire(1, turning[0]!, LATER, shape);
    expect(wire.closed).toBe(true);
    expect(wire.acceptingOrders).toBe(false);
    expect(Date.parse(String(wire.closedTime))).toBeLessThanOrEqual(LATER);
    expect(polymarketMarketWire(1, turning[0]!, EPOCH, shape).closed).toBe(false);
    // The small shape never closes one over time.
    const small = polymarketUniverse(1, POLYMARKET_SHAPES.small);
    expect(
      small.poly.filter((m) => !m.closed && polymarketClosed(m, LATER, POLYMARKET_SHAPES.small)),
    ).toHaveLength(0);
  });
});
