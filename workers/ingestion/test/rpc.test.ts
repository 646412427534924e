import { sha256Hex } from "@paulp/kit";
import { beforeEach, describe, expect, it } from "vitest";
import { storeEvidence } from "../src/evidence";
import { runVenue } from "../src/pipeline";
import { ACTOR, count, fault, resetAll, tenv, testDeps, worker } from "./helpers";

beforeEach(resetAll);

describe("RPC", () => {
  it("lists markets with a cursor, each with its evidence hash and age", async () => {
    await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 30 });
    const first = await worker().listMarkets({ venue: "kalshi", limit: 20 });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.value.markets).toHaveLength(20);
    expect(first.value.markets[0]!.evidenceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.value.markets[0]!.ageSeconds).toBeGreaterThanOrEqual(0);
    const second = await worker().listMarkets({ venue: "kalshi", limit: 20, cursor: first.value.cursor! });
    expect(second.ok && second.value.markets).toHaveLength(10);
    expect(second.ok && second.value.cursor).toBeNull();
    expect(await worker().listMarkets({ limit: 5000 })).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
    expect(await worker().listMarkets({ cursor: "!!" })).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
    // A rule added after ingestion hides the stored market it blocks from the listing too.
    const hidden = first.value.markets[0]!.marketId;
    expect(
      await worker().putComplianceRules(
        { rules: [{ id: "hide", kind: "pattern", value: hidden, reason: "added after ingestion" }] },
        ACTOR,
      ),
    ).toMatchObject({ ok: true });
    const again = await worker().listMarkets({ venue: "kalshi", limit: 100 });
    expect(again.ok && again.value.markets.map((m) => m.marketId)).not.toContain(hidden);
    expect(again.ok && again.value.markets).toHaveLength(29);
  });

  it("answers one market and its mark, and refuses bad input", async () => {
    await runVenue(testDeps(), "polymarket", { maxPages: 1, pageSize: 10 });
    const row = (await tenv.D1_MARKETS.prepare(
      "SELECT market_id, yes_bid, yes_ask FROM markets LIMIT 1",
    ).first<{ market_id: string; yes_bid: string; yes_ask: string }>())!;
    const market = await worker().getMarket("polymarket", row.market_id);
    expect(market).toMatchObject({ ok: true, value: { venue: "polymarket", marketId: row.market_id } });
    const mark = await worker().getMark("polymarket", row.market_id);
    expect(mark.ok).toBe(true);
    if (mark.ok) {
      expect(Number(mark.value.price)).toBeGreaterThanOrEqual(Number(row.yes_bid));
      expect(Number(mark.value.price)).toBeLessThanOrEqual(Number(row.yes_ask));
      expect(mark.value.evidenceHash).toBe(market.ok ? market.value.evidenceHash : "");
    }
    expect(await worker().getMarket("polymarket", "0xnope")).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
    expect(await worker().getMarket("nasdaq" as never, "X")).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
  });

  it("fetches a fresh order book through evidence, YES view, and serves it again while fresh", async () => {
    await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 5 });
    const id = (await tenv.D1_MARKETS.prepare("SELECT market_id FROM markets LIMIT 1").first<{
      market_id: string;
    }>())!.market_id;
    const book = await worker().getOrderBook("kalshi", id, 30);
    expect(book.ok).toBe(true);
    if (!book.ok) return;
    expect(book.value.bids.length).toBeGreaterThan(0);
    expect(Number(book.value.bids[0]!.price)).toBeLessThan(Number(book.value.asks[0]!.price));
    // Best first.
    expect(Number(book.value.bids[0]!.price)).toBeGreaterThan(Number(book.value.bids.at(-1)!.price));
    const evidence = await worker().getEvidence(book.value.evidenceHash);
    expect(evidence.ok && (await sha256Hex(evidence.value.bytes))).toBe(book.value.evidenceHash);
    const raw = JSON.parse(
      new TextDecoder().decode(evidence.ok ? evidence.value.bytes : new Uint8Array()),
    ) as {
      orderbook_fp: { no_dollars: [string, string][] };
    };
    // A YES ask is 1 − the best NO bid.
    const bestNo = raw.orderbook_fp.no_dollars.at(-1)![0];
    expect(book.value.asks[0]!.price).toBe((1 - Number(bestNo)).toFixed(4));
    const again = await worker().getOrderBook("kalshi", id, 30);
    expect(again.ok && again.value.evidenceHash).toBe(book.value.evidenceHash);
  });

  it("a faulty order book answer is an error, and the stored book is kept", async () => {
    await runVenue(testDeps(), "polymarket", { maxPages: 1, pageSize: 5 });
    const id = (await tenv.D1_MARKETS.prepare("SELECT market_id FROM markets LIMIT 1").first<{
      market_id: string;
    }>())!.market_id;
    const good = await worker().getOrderBook("polymarket", id, 30);
    expect(good.ok).toBe(true);
    const failuresReported = async () =>
      (await tenv.RISK._calls())
        .filter((c) => c.method === "reportFailure")
        .map((c) => [c.kind, c.detail, c.actor]);
    expect(await failuresReported()).toEqual([]);
    await fault({ host: "clob.polymarket.com", kind: "wrong_shape", times: 1 });
    const bad = await worker().getOrderBook("polymarket", id, 0);
    expect(bad).toMatchObject({ ok: false, error: { code: "upstream_error" } });
    const stored = await tenv.D1_MARKETS.prepare("SELECT evidence_hash FROM order_books WHERE market_id = ?1")
      .bind(id)
      .first<{ evidence_hash: string }>();
    expect(good.ok && stored!.evidence_hash).toBe(good.ok ? good.value.evidenceHash : "");
    expect(await count("evidence", "parse_status = 'rejected'")).toBe(1);
    // A garbage book is a market-data failure for the breaker, as a 5xx is (#13 item 17).
    await fault({ host: "clob.polymarket.com", kind: "server_error", status: 503, times: 3 });
    expect(await worker().getOrderBook("polymarket", id, 0)).toMatchObject({ ok: false });
    const reported = await failuresReported();
    expect(reported).toHaveLength(2);
    expect(reported[0]).toEqual([
      "venue_api_error",
      expect.stringMatching(new RegExp(`^polymarket order book ${id}: rejected \\(schema\\)`)),
      expect.objectContaining({ method: "system" }),
    ]);
    expect(reported[1]![1]).toMatch(new RegExp(`^polymarket order book ${id}: server_error HTTP 503`));
  });

  it("preTradeCheck: the market under the rules in force now, and which cited evidence is not stored", async () => {
    await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 5 });
    const row = (await tenv.D1_MARKETS.prepare("SELECT market_id, evidence_hash FROM markets LIMIT 1").first<{
      market_id: string;
      evidence_hash: string;
    }>())!;
    const fake = "0".repeat(64);
    expect(await worker().preTradeCheck("kalshi", row.market_id, [row.evidence_hash, fake])).toEqual({
      ok: true,
      value: { compliance: { verdict: "allow" }, rulesVersion: 0, missingEvidence: [fake] },
    });
    await worker().putComplianceRules(
      { rules: [{ id: "late", kind: "pattern", value: row.market_id, reason: "blocked after ingestion" }] },
      ACTOR,
    );
    expect(await worker().preTradeCheck("kalshi", row.market_id, [row.evidence_hash])).toEqual({
      ok: true,
      value: {
        compliance: { verdict: "block", ruleId: "late", reason: "blocked after ingestion" },
        rulesVersion: 1,
        missingEvidence: [],
      },
    });
    // Not stored is not "allow": a blocked market is removed from the store.
    const absent = await worker().preTradeCheck("kalshi", "KXNEVER-SEEN", []);
    expect(absent).toMatchObject({ ok: true, value: { compliance: { verdict: "unknown" } } });
    const ibkr = await worker().preTradeCheck("ibkr", "265598", [fake]);
    expect(ibkr).toMatchObject({
      ok: true,
      value: { compliance: { verdict: "not_applicable" }, missingEvidence: [fake] },
    });
    expect(await worker().preTradeCheck("kalshi", row.market_id, ["nope"])).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
  });

  it("evidence is re-hashed on read: tampered bytes are an integrity error, not data", async () => {
    await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 5 });
    const hash = (await tenv.D1_MARKETS.prepare("SELECT hash FROM evidence LIMIT 1").first<{
      hash: string;
    }>())!.hash;
    expect((await worker().getEvidence(hash)).ok).toBe(true);
    await tenv.R2_EVIDENCE.put(hash, "tampered");
    expect(await worker().getEvidence(hash)).toMatchObject({
      ok: false,
      error: { code: "integrity_broken" },
    });
    await tenv.R2_EVIDENCE.delete(hash);
    expect(await worker().getEvidence(hash)).toMatchObject({
      ok: false,
      error: { code: "integrity_broken" },
    });
    expect(await worker().getEvidence("0".repeat(64))).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
    expect(await worker().getEvidence("xyz")).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
  });

  it("identical bytes answering two requests are stored once and name both requests", async () => {
    const store = { bucket: tenv.R2_EVIDENCE, db: tenv.D1_MARKETS };
    const bytes = new TextEncoder().encode('{"orderbook_fp":{"yes_dollars":[],"no_dollars":[]}}');
    const raw = (ticker: string) => ({
      url: `https://api.elections.kalshi.com/trade-api/v2/markets/${ticker}/orderbook`,
      status: 200,
      contentType: "application/json",
      bytes,
      retryAfter: null,
    });
    const a = await storeEvidence(store, "kalshi", raw("KXA-1"), "2026-11-24T10:00:00.000Z");
    const b = await storeEvidence(store, "kalshi", raw("KXB-2"), "2026-11-24T10:00:05.000Z");
    expect(b).toBe(a);
    expect(await count("evidence", "hash = ?1", a)).toBe(1);
    const read = await worker().getEvidence(a);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.value.url).toContain("KXA-1"); // the first request
    // The second put was refused by its create-only precondition: the object still says the first request.
    expect((await tenv.R2_EVIDENCE.head(a))?.customMetadata?.url).toContain("KXA-1");
    expect(read.value.sightings.map((x) => x.url.split("/").at(-2))).toEqual(["KXB-2", "KXA-1"]);
    expect(read.value.sightings[0]).toMatchObject({ status: 200, firstSeenAt: "2026-11-24T10:00:05.000Z" });
  });

  it("runNow and status: last run per venue with counts and errors by kind", async () => {
    await fault({ host: "gamma-api.polymarket.com", kind: "wrong_shape", times: 1 });
    const run = await worker().runNow({ maxPages: 1, pageSize: 50 }, ACTOR);
    expect(run.ok).toBe(true);
    const status = await worker().status();
    expect(status.ok).toBe(true);
    if (!status.ok) return;
    // One of the first 50 open markets cannot be represented (the simulator plants it): skipped and counted.
    expect(status.value.venues.kalshi).toMatchObject({
      storedMarkets: 49,
      lastRun: { outcome: "ok", stored: 49, fetched: 50, errors: { market_unrepresentable: 1 } },
    });
    expect(status.value.venues.polymarket).toMatchObject({
      storedMarkets: 0,
      consecutiveFailures: 1,
      lastRun: { outcome: "failed", errors: { schema: 1 } },
    });
    expect(status.value.rejectedEvidence).toBe(1);
    expect(await worker().runNow({ maxPages: 99 }, ACTOR)).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
    expect(await worker().runNow({}, { method: "nobody" } as never)).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
  });

  it("the cron ingests both venues", async () => {
    await (worker() as unknown as { scheduled(c: unknown): Promise<void> }).scheduled({
      cron: "*/2 * * * *",
      scheduledTime: Date.now(),
    });
    // Every open, single (not multivariate) binary market the simulator lists, bar the one it plants unrepresentable.
    const u = await import("@paulp/sim-universe");
    const n = u.UNIVERSE_SIZES.small.kalshiMarkets;
    const ingestible = Array.from({ length: n }, (_, i) => i).filter(
      (i) =>
        u.kalshiMarketStatus(20261124, "small", i) === "active" &&
        !u.kalshiMarketIsMve(20261124, "small", i) &&
        i !== u.KALSHI_UNREPRESENTABLE_INDEX &&
        i !== u.KALSHI_SCALAR_INDEX,
    );
    expect(await count("markets", "venue = 'kalshi'")).toBe(ingestible.length);
    // Polymarket: 25 keyset pages of 100 (gamma clamps the 500 asked), less the markets
    // gamma lists that we cannot store.
    const firstPages = u
      .polymarketUniverse(20261124)
      .poly.filter((m) => !m.closed)
      .slice(0, 2500);
    const storable = firstPages.filter(
      (m) => !m.quirks.question && !m.quirks.conditionId && !m.quirks.outcomes,
    );
    expect(await count("markets", "venue = 'polymarket'")).toBe(storable.length);
    expect(await count("ingest_runs")).toBe(2);
  });

  it("health touches D1, R2 and the rules", async () => {
    const h = await worker().health();
    expect(h.ok).toBe(true);
    expect(h.checks.map((c) => c.name).sort()).toEqual(["compliance_rules", "d1_markets", "r2_evidence"]);
  });
});
