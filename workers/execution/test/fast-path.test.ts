// The fast path's Durable Object, driven by its alarm (no sleeps): what strategies trade is refreshed through
// ingestion, IBKR instruments through the real simulator's snapshot, within the cycle and no more often.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { TradedMarket } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { FAST_PATH } from "../src/fast/schedule";
import { execution, ingestion, onePaperPair } from "./helpers";

const refresher = () => env.MARK_REFRESHER.get(env.MARK_REFRESHER.idFromName("fast-path"));
type Call = {
  method: string;
  url?: string;
  markets?: TradedMarket[];
  rows?: Record<string, unknown>[];
  instruments?: TradedMarket[];
};
const calls = async (method: string, since: number) =>
  ((await (ingestion() as unknown as { _calls(): Promise<Call[]> })._calls()) as Call[])
    .slice(since)
    .filter((c) => c.method === method);

describe("the fast path's alarm", () => {
  it("refreshes the legs of tradable pairs and the hedge instrument, then waits out the cycle", async () => {
    await onePaperPair("rv-fast", "pair-fast", "KX-FAST-HEDGED", "0xfast");
    const traded = await execution().tradedMarkets();
    expect(traded.ok && traded.value).toEqual([
      { venue: "kalshi", market: "KX-FAST-HEDGED", why: "pair_leg", category: null },
      { venue: "polymarket", market: "0xfast", why: "pair_leg", category: null },
      { venue: "ibkr", market: "424242", why: "hedge", category: "Hedges" },
    ]);
    const before = ((await (ingestion() as unknown as { _calls(): Promise<Call[]> })._calls()) as Call[])
      .length;

    await refresher().kick();
    expect(await runDurableObjectAlarm(refresher())).toBe(true);
    const books = await calls("refreshMarks", before);
    expect(books.flatMap((c) => c.markets!.map((m) => `${m.venue}:${m.market}`)).sort()).toEqual([
      "kalshi:KX-FAST-HEDGED",
      "polymarket:0xfast",
    ]);
    // IBKR's first snapshot of a conid only starts its data (the real simulator): no price yet.
    const [first] = await calls("ingestIbkrSnapshot", before);
    expect(first!.url).toContain("/iserver/marketdata/snapshot?conids=424242&fields=31,84,86");
    expect(first!.rows![0]).not.toHaveProperty("84");
    expect(first!.instruments).toEqual([
      { venue: "ibkr", market: "424242", why: "hedge", category: "Hedges" },
    ]);
    // The alarm set the next one.
    expect(await runInDurableObject(refresher(), (_i, state) => state.storage.getAlarm())).not.toBeNull();

    // The next tick: the books are within the cycle (not read again); the instrument is due and now priced.
    const mid = ((await (ingestion() as unknown as { _calls(): Promise<Call[]> })._calls()) as Call[]).length;
    expect(await runDurableObjectAlarm(refresher())).toBe(true);
    expect(await calls("refreshMarks", mid)).toEqual([]);
    const [second] = await calls("ingestIbkrSnapshot", mid);
    expect(second!.rows![0]).toMatchObject({
      conid: 424242,
      "84": expect.any(String),
      "86": expect.any(String),
    });
    const status = await execution().fastPathStatus();
    if (!status.ok) throw new Error(status.error.message);
    expect(status.value.markets.every((m) => m.refreshedAt !== null)).toBe(true);
    expect(status.value.ticks).toBeGreaterThanOrEqual(2);

    // Once the cycle has passed, the books are read again.
    await runInDurableObject(refresher(), async (instance, state) => {
      const s = (await state.storage.get<{ refreshedAt: Record<string, number> }>("state"))!;
      for (const k of Object.keys(s.refreshedAt)) s.refreshedAt[k]! -= FAST_PATH.refreshEveryMs;
      await state.storage.put("state", s);
      (instance as unknown as { state: unknown }).state = null;
    });
    const late = ((await (ingestion() as unknown as { _calls(): Promise<Call[]> })._calls()) as Call[])
      .length;
    const r = await execution().refreshTradedNow();
    expect(r.ok && r.value).toMatchObject({ traded: 3, refreshed: 3, deferred: 0, errors: {} });
    expect(await calls("refreshMarks", late)).toHaveLength(1);
  });

  it("a loop run first refreshes what is traded but was never refreshed, before it reads the pairs' legs", async () => {
    await onePaperPair("rv-prime", "pair-prime", "KX-PRIME", "0xprime");
    const all = async () =>
      (await (ingestion() as unknown as { _calls(): Promise<Call[]> })._calls()) as Call[];
    const before = (await all()).length;
    const run = await execution().runTradingLoop({ method: "system", subject: "cron:execution" });
    expect(run.ok).toBe(true);
    const mine = (await all()).slice(before).map((c) => c.method);
    expect(mine).toContain("refreshMarks");
    expect(mine).toContain("getMarket");
    // The refresh came before the loop looked at the legs (and so before it decided on anything).
    expect(mine.indexOf("refreshMarks")).toBeLessThan(mine.indexOf("getMarket"));
    const status = await execution().fastPathStatus();
    if (!status.ok) throw new Error(status.error.message);
    const legs = status.value.markets.filter((m) => m.venue !== "ibkr");
    expect(legs.length).toBeGreaterThan(0);
    expect(legs.every((m) => m.refreshedAt !== null)).toBe(true);

    // Everything traded now has been refreshed here once: the next run reads nothing before deciding.
    const mid = (await all()).length;
    await execution().runTradingLoop({ method: "system", subject: "cron:execution" });
    expect(await calls("refreshMarks", mid)).toEqual([]);
  });
});
