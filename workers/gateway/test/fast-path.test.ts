// The fast path through the real workers: execution names what is traded and schedules it, ingestion reads it
// through evidence and the gate (IBKR snapshots read by execution's gateway session, kept by ingestion), risk gets
// the marks. Ticks are run by the test (the fast path's own alarm waits an hour here).
import { env } from "cloudflare:workers";
import type { FastPathTick, IngestionRpc, RiskRpc } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { adminFetch, auditEntries, post } from "./helpers";

const HEDGE_CONID = "265598"; // HEDGE_MAP in vitest.config.ts files it under "Hedges"
const sim = () => (env as unknown as { VENUE_SIM: Fetcher }).VENUE_SIM;

/** A paper strategy of the kind the loop trades: while one exists, the hedge map's instruments are traded. */
async function rvPaperStrategy(): Promise<string> {
  const created = await adminFetch(
    "/admin/strategies",
    post({
      name: "Fast path",
      kind: "cross_venue_rv",
      allocation: "500",
      venues: ["kalshi", "polymarket"],
      params: {},
    }),
  );
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  expect((await adminFetch(`/admin/strategies/${id}/paper`, { method: "POST" })).status).toBe(200);
  return id;
}

async function tick(): Promise<FastPathTick> {
  const res = await adminFetch("/admin/execution/fast-path/run", { method: "POST" });
  expect(res.status).toBe(200);
  return (await res.json()) as FastPathTick;
}

const order = (
  strategyId: string,
  o: { venue: string; market: string; side: string; limitPrice: string; evidence: string; effect?: string },
) =>
  adminFetch(
    "/admin/orders",
    post({
      strategyId,
      venue: o.venue,
      market: o.market,
      side: o.side,
      effect: o.effect ?? "open",
      quantity: 1,
      limitPrice: o.limitPrice,
      evidenceHashes: [o.evidence],
    }),
  );

/** The mark risk used for a decision, from its record in the audit chain. */
async function decisionMark(clientOrderId: string): Promise<{ ageMs: number; observedAt: string } | null> {
  const decisions = await auditEntries("risk.decision");
  const d = decisions.find(
    (e) => (e.payload.intent as { clientOrderId?: string }).clientOrderId === clientOrderId,
  );
  return (d?.payload.mark as { ageMs: number; observedAt: string } | null) ?? null;
}

describe("the fast path, through the real workers", () => {
  it("an IBKR hedge refused UNKNOWN_MARKET before gets a mark from IBKR's snapshot and is decided on it", async () => {
    const strategyId = await rvPaperStrategy();
    // A hedge carries the evidence of the signal it hedges: any stored evidence will do here.
    const ran = await adminFetch(
      "/admin/ingestion/run",
      post({ venues: ["kalshi"], maxPages: 1, pageSize: 5 }),
    );
    expect(ran.status).toBe(200);
    const listed = await (env.INGESTION as unknown as IngestionRpc).listMarkets({
      venue: "kalshi",
      limit: 1,
    });
    if (!listed.ok) throw new Error(listed.error.message);
    const hedge = {
      venue: "ibkr",
      market: HEDGE_CONID,
      side: "sell",
      limitPrice: "145.00",
      evidence: listed.value.markets[0]!.evidenceHash,
    };
    const before = await order(strategyId, hedge);
    const refused = (await before.json()) as {
      error: { code: string; details: { reasons: { code: string }[] } };
    };
    expect(before.status, JSON.stringify(refused)).toBe(422);
    expect(refused.error.details.reasons.map((r) => r.code)).toContain("UNKNOWN_MARKET");

    // The first snapshot of a conid only starts IBKR's market data; the next one carries its prices.
    const first = await tick();
    expect(first.errors.no_price).toBe(1);
    const second = await tick();
    expect(second.refreshed).toBeGreaterThanOrEqual(1);
    const status = (await (await adminFetch("/admin/execution/fast-path")).json()) as {
      markets: { venue: string; market: string; why: string; refreshedAt: string | null }[];
    };
    expect(status.markets).toContainEqual(
      expect.objectContaining({ venue: "ibkr", market: HEDGE_CONID, why: "hedge" }),
    );
    expect(status.markets.find((m) => m.market === HEDGE_CONID)?.refreshedAt).not.toBeNull();

    const after = await order(strategyId, hedge);
    const placed = (await after.json()) as { order: { clientOrderId: string; mode: string } };
    expect(after.status, JSON.stringify(placed)).toBe(201);
    expect(placed.order.mode).toBe("paper");
    const mark = await decisionMark(placed.order.clientOrderId);
    expect(mark).not.toBeNull();
    expect(mark!.ageMs).toBeLessThan(60_000);
    expect(Date.parse(mark!.observedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("a market with an open position stays fresh while the crawl fails: the fast path reads its book, not the crawl", async () => {
    const strategyId = await rvPaperStrategy();
    // One small crawl page stores the market (its mark reaches risk from that page).
    const ran = await adminFetch(
      "/admin/ingestion/run",
      post({ venues: ["kalshi"], maxPages: 1, pageSize: 5 }),
    );
    expect(ran.status).toBe(200);
    const ingestion = env.INGESTION as unknown as IngestionRpc;
    const listed = await ingestion.listMarkets({ venue: "kalshi", status: "active", limit: 5 });
    if (!listed.ok) throw new Error(listed.error.message);
    const market = listed.value.markets[0]!;
    const book = await ingestion.getOrderBook("kalshi", market.marketId, 0);
    if (!book.ok) throw new Error(book.error.message);
    const ask = book.value.asks.map((l) => l.price).sort()[0]!;
    const opened = await order(strategyId, {
      venue: "kalshi",
      market: market.marketId,
      side: "buy",
      limitPrice: ask,
      evidence: book.value.evidenceHash,
    });
    expect(opened.status).toBe(201);

    // From here the crawl fails: every Kalshi market list answers 503 (books still answer).
    const fault = await sim().fetch("https://api.elections.kalshi.com/__sim/faults", {
      method: "POST",
      body: JSON.stringify({
        host: "api.elections.kalshi.com",
        pathPrefix: "/trade-api/v2/markets",
        exactPath: true,
        kind: "server_error",
      }),
    });
    expect(fault.status).toBe(201);
    try {
      const failed = (await (
        await adminFetch("/admin/ingestion/run", post({ venues: ["kalshi"], maxPages: 1, pageSize: 5 }))
      ).json()) as { outcome: string }[];
      expect(failed[0]!.outcome).toBe("failed");

      const since = Date.now();
      const t = await tick();
      expect(t.errors.rate_limited ?? 0).toBe(0);
      const status = (await (await adminFetch("/admin/execution/fast-path")).json()) as {
        markets: { venue: string; market: string; why: string; refreshedAt: string | null }[];
      };
      const entry = status.markets.find((m) => m.venue === "kalshi" && m.market === market.marketId);
      expect(entry?.why).toBe("position");
      expect(Date.parse(entry!.refreshedAt!)).toBeGreaterThanOrEqual(since);

      // Risk holds the fresh mark: the next decision on the market is taken against it.
      const again = await order(strategyId, {
        venue: "kalshi",
        market: market.marketId,
        side: "buy",
        limitPrice: ask,
        evidence: book.value.evidenceHash,
        effect: "increase",
      });
      const placed = (await again.json()) as { order: { clientOrderId: string } };
      expect(again.status, JSON.stringify(placed)).toBe(201);
      const mark = await decisionMark(placed.order.clientOrderId);
      expect(Date.parse(mark!.observedAt)).toBeGreaterThanOrEqual(since);
      // The exposure view agrees: the position's market is not unmarked.
      const risk = env.RISK as unknown as RiskRpc;
      const exposure = await risk.exposure();
      if (exposure.ok) expect(exposure.value.unmarkedPositions).not.toContain(`kalshi:${market.marketId}`);
    } finally {
      await sim().fetch("https://api.elections.kalshi.com/__sim/faults", { method: "DELETE" });
    }
  });
});
