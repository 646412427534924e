// The data side of execution's fast path: fresh books of traded markets and IBKR snapshots, each through
// evidence and the gate in force, with their marks pushed to risk.
import type { MarkUpdate, RawVenueAnswer, TradedMarket } from "@paulp/contracts";
import { beforeEach, describe, expect, it } from "vitest";
import { runVenue } from "../src/pipeline";
import { auditEvents, blockKalshi, count, resetAll, tenv, testDeps, worker } from "./helpers";

async function pushedMarks(): Promise<MarkUpdate[]> {
  return (await tenv.RISK._calls())
    .filter((c) => c.method === "recordMarks")
    .flatMap((c) => c.marks as MarkUpdate[]);
}

/** One stored Kalshi market from the simulator (one small crawl page); risk's record of the crawl is cleared. */
async function storedKalshiMarket(): Promise<{ marketId: string; category: string | null }> {
  await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 20 });
  const row = await tenv.D1_MARKETS.prepare(
    "SELECT market_id, category FROM markets WHERE venue = 'kalshi' AND status = 'active' ORDER BY market_id LIMIT 1",
  ).first<{ market_id: string; category: string | null }>();
  if (!row) throw new Error("no Kalshi market stored");
  await tenv.RISK._reset();
  return { marketId: row.market_id, category: row.category };
}

const leg = (venue: "kalshi" | "polymarket", market: string): TradedMarket => ({
  venue,
  market,
  why: "pair_leg",
  category: null,
});
const HEDGE: TradedMarket = { venue: "ibkr", market: "265598", why: "hedge", category: "Economics" };
const answer = (body: unknown): RawVenueAnswer => ({
  url: "https://ibkr-gateway.paulp.local/v1/api/iserver/marketdata/snapshot?conids=265598&fields=31,84,86",
  status: 200,
  contentType: "application/json",
  bytes: new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body)),
});

beforeEach(resetAll);

describe("refreshMarks: traded markets' books, read now", () => {
  it("reads the book through evidence, stores it, and gives risk a mark with the market's category", async () => {
    const m = await storedKalshiMarket();
    const before = Date.now();
    const r = await worker().refreshMarks([leg("kalshi", m.marketId)]);
    expect(r.ok && r.value).toEqual({ refreshed: [`kalshi:${m.marketId}`], errors: {} });
    const [mark] = await pushedMarks();
    expect(mark).toMatchObject({ venue: "kalshi", market: m.marketId, category: m.category });
    expect(Date.parse(mark!.observedAt)).toBeGreaterThanOrEqual(before);
    expect(await tenv.R2_EVIDENCE.head(mark!.evidenceHash)).not.toBeNull();
    expect(await count("evidence", "hash = ?1 AND parse_status = 'accepted'", mark!.evidenceHash)).toBe(1);
    expect(await count("order_books", "venue = 'kalshi' AND market_id = ?1", m.marketId)).toBe(1);
    expect(
      await count(
        "markets",
        "venue = 'kalshi' AND market_id = ?1 AND mark_evidence_hash = ?2",
        m.marketId,
        mark!.evidenceHash,
      ),
    ).toBe(1);
  });

  it("a market the rules block is neither read nor marked; one the crawl never stored is not read", async () => {
    const m = await storedKalshiMarket();
    await blockKalshi();
    const books = await count("order_books");
    const r = await worker().refreshMarks([leg("kalshi", m.marketId), leg("polymarket", "0xnever")]);
    expect(r.ok && r.value).toEqual({ refreshed: [], errors: { compliance_blocked: 1, unknown_market: 1 } });
    expect(await pushedMarks()).toEqual([]);
    expect(await count("order_books")).toBe(books);
  });

  it("a mark risk refuses is not reported refreshed (the fast path tries it again)", async () => {
    const m = await storedKalshiMarket();
    await tenv.RISK._set({ failing: true });
    const r = await worker().refreshMarks([leg("kalshi", m.marketId)]);
    expect(r.ok && r.value).toEqual({ refreshed: [], errors: { risk_marks_failed: 1 } });
  });

  it("refuses IBKR instruments and more than 100 markets, reading nothing", async () => {
    expect((await worker().refreshMarks([HEDGE])).ok).toBe(false);
    const many = Array.from({ length: 101 }, (_, i) => leg("kalshi", `K${i}`));
    expect((await worker().refreshMarks(many)).ok).toBe(false);
    expect(await count("evidence")).toBe(0);
  });
});

describe("ingestIbkrSnapshot: IBKR marks from execution's snapshot", () => {
  it("keeps the bytes as evidence, then marks the bid/ask midpoint under the hedge's category", async () => {
    const r = await worker().ingestIbkrSnapshot(
      answer([{ conid: 265598, "84": "148.00", "86": "148.10", "31": "148.05" }]),
      [HEDGE],
    );
    expect(r.ok && r.value).toEqual({ refreshed: ["ibkr:265598"], errors: {} });
    const [mark] = await pushedMarks();
    expect(mark).toMatchObject({ venue: "ibkr", market: "265598", price: "148.0500", category: "Economics" });
    expect(await tenv.R2_EVIDENCE.head(mark!.evidenceHash)).not.toBeNull();
    expect(await count("evidence", "venue = 'ibkr' AND parse_status = 'accepted'")).toBe(1);
  });

  it("no bid/ask: the last price, unless it is the previous close (C) or halted (H); the first snapshot has none", async () => {
    const r = await worker().ingestIbkrSnapshot(
      answer([
        { conid: 1, "31": "50.25" },
        { conid: 2, "31": "C50.25" },
        { conid: 3, "31": "H50.25" },
        { conid: 4, server_id: "q0", _updated: 1 },
      ]),
      [1, 2, 3, 4].map((c) => ({ ...HEDGE, market: String(c) })),
    );
    expect(r.ok && r.value).toEqual({ refreshed: ["ibkr:1"], errors: { no_price: 3 } });
    expect((await pushedMarks()).map((m) => m.price)).toEqual(["50.2500"]);
  });

  it("an answer not of the spec's shape is kept as rejected evidence, audited, and marks nothing", async () => {
    const r = await worker().ingestIbkrSnapshot(answer({ error: "not an array" }), [HEDGE]);
    expect(r.ok && r.value.refreshed).toEqual([]);
    expect(await pushedMarks()).toEqual([]);
    expect(await count("evidence", "venue = 'ibkr' AND parse_status = 'rejected'")).toBe(1);
    const audited = (await auditEvents()).map((e) => e.type);
    expect(audited).toContain("ingestion.response_rejected");
  });

  it("a refused snapshot (429) is kept as evidence with its status, and marks nothing", async () => {
    const refused = { ...answer({ error: "Too many requests" }), status: 429 };
    const r = await worker().ingestIbkrSnapshot(refused, [HEDGE]);
    expect(r.ok && r.value).toEqual({ refreshed: [], errors: { http_429: 1 } });
    expect(await pushedMarks()).toEqual([]);
    expect(await count("evidence", "venue = 'ibkr' AND status = 429")).toBe(1);
  });

  it("refuses a Kalshi market as an IBKR instrument, storing nothing", async () => {
    expect((await worker().ingestIbkrSnapshot(answer([]), [leg("kalshi", "K")])).ok).toBe(false);
    expect(await count("evidence")).toBe(0);
  });
});
