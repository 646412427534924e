// Dev history (#18 item 5, src/history.ts): a past window of the tradable pairs' markets and books, recorded from
// the real venue simulator on a simulated clock through the fetch path and the compliance gate, is replayable (a
// replay over it completes with decisions); and the path is refused wherever the dev config does not enable it.
import type { PairCandidate, TradablePair } from "@paulp/contracts";
import { parseJsonc } from "@paulp/testing/jsonc";
import { beforeEach, describe, expect, it } from "vitest";
import { historyRefusal } from "../src/history";
import { runIngestion, runVenue } from "../src/pipeline";
import config from "../wrangler.jsonc?raw";
import { ACTOR, resetAll, runToEnd, tenv, testDeps, worker } from "./helpers";

beforeEach(resetAll);

/** The planted pairs as governance lists them once approved (the double answers them as tradable). */
async function tradablePlantedPairs(n: number): Promise<TradablePair[]> {
  const { plantedPairs } = await import("@paulp/sim-universe");
  const deps = testDeps();
  await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 100 });
  await runIngestion(deps, { venues: ["polymarket"], maxPages: 60, pageSize: 500 });
  const call = (await tenv.GOVERNANCE._calls()).find((c) => c.method === "proposePairs");
  const candidates = (call?.candidates ?? []) as PairCandidate[];
  const planted = new Set(
    plantedPairs(20261124).map((p) => `${p.kalshiTicker}|${p.polymarketConditionId.toLowerCase()}`),
  );
  return candidates
    .filter((c) => planted.has(`${c.kalshi.marketId}|${c.polymarket.marketId}`))
    .slice(0, n)
    .map((c, i) => ({
      pairId: `pair_${i}`,
      kalshi: c.kalshi,
      polymarket: c.polymarket,
      grade: "identical",
      yesMapsTo: "YES",
      approvedBy: "reviewer@example.com",
      approvedAt: new Date().toISOString(),
    })) as TradablePair[];
}

describe("dev history", () => {
  it("records a past window on the simulated clock, and a replay over it completes with decisions", {
    timeout: 240_000,
  }, async () => {
    const pairs = await tradablePlantedPairs(3);
    expect(pairs.length).toBe(3);
    await tenv.GOVERNANCE._set({ pairs });
    const now = Date.now();
    // Ten ticks a minute apart, ending ten minutes ago: long after the crawl above in fetch order, before it in time.
    const from = new Date(now - 20 * 60_000).toISOString();
    const to = new Date(now - 10 * 60_000).toISOString();
    const recorded = await worker().recordHistory({ from, to, stepMs: 60_000 }, ACTOR);
    if (!recorded.ok) throw new Error(recorded.error.message);
    // Per tick: the Kalshi legs' markets, the Polymarket legs', six books; the first also events and series.
    expect(recorded.value).toMatchObject({ ticks: 10, pairs: 3, skipped: 0, failed: 0, errors: {} });
    expect(recorded.value.fetches).toBeGreaterThanOrEqual(10 * 8);

    // Every fetch is logged at its simulated time, inside the window, with its evidence accepted.
    const logged = await tenv.D1_MARKETS.prepare(
      `SELECT f.url, f.fetched_at, e.parse_status FROM evidence_fetches f JOIN evidence e ON e.hash = f.hash
       WHERE f.fetched_at >= ?1 AND f.fetched_at < ?2 ORDER BY f.fetched_at, f.id`,
    )
      .bind(from, to)
      .all<{ url: string; fetched_at: string; parse_status: string }>();
    expect(logged.results.length).toBe(recorded.value.fetches);
    expect(logged.results.every((r) => r.parse_status === "accepted")).toBe(true);
    expect(logged.results[0]!.url).toContain("/events?");
    // The books moved with the simulated clock: the Kalshi legs' books are not all one answer.
    const books = new Set(
      (
        await tenv.D1_MARKETS.prepare(
          `SELECT DISTINCT hash FROM evidence_fetches WHERE url LIKE '%/orderbook' AND fetched_at >= ?1 AND fetched_at < ?2`,
        )
          .bind(from, to)
          .all<{ hash: string }>()
      ).results.map((r) => r.hash),
    );
    expect(books.size).toBeGreaterThan(3);
    // Nothing live changed: no stored book is from the past window.
    const pastBooks = await tenv.D1_MARKETS.prepare(
      "SELECT COUNT(*) AS n FROM order_books WHERE fetched_at < ?1",
    )
      .bind(to)
      .first<{ n: number }>();
    expect(pastBooks?.n).toBe(0);

    const started = await worker().startReplay({ strategyId: "stg_history", from, to }, ACTOR);
    if (!started.ok) throw new Error(started.error.message);
    const { record: done } = await runToEnd(started.value.id, 400);
    expect(done).toMatchObject({ status: "complete", sightings: recorded.value.fetches });
    expect(done.summary!.decisions).toBeGreaterThan(0);
    // The window's own events, series and markets answers give the legs their categories.
    expect(done.summary!.denialsByCode).not.toHaveProperty("NO_CATEGORY");
  });

  it("is refused unless the dev config enables it and the simulator is bound (fail closed)", async () => {
    expect(historyRefusal({ DEV_HISTORY: "on", VENUE_SIM: tenv.VENUE_SIM })).toBeNull();
    expect(historyRefusal({ VENUE_SIM: tenv.VENUE_SIM })).toMatch(/dev history is off/);
    expect(historyRefusal({ DEV_HISTORY: "yes", VENUE_SIM: tenv.VENUE_SIM })).toMatch(/dev history is off/);
    expect(historyRefusal({ DEV_HISTORY: "on" })).toMatch(/simulator/);
  });

  it("is enabled only in the top-level (local dev) config: staging and production neither enable it nor bind the simulator", () => {
    const cfg = parseJsonc(config) as Cfg;
    expect(cfg.vars?.DEV_HISTORY).toBe("on");
    for (const name of ["staging", "production"]) {
      const env = cfg.env?.[name];
      expect(env, name).toBeDefined();
      expect(env?.vars?.DEV_HISTORY, name).toBeUndefined();
      expect(
        env?.services?.some((s) => s.binding === "VENUE_SIM"),
        name,
      ).toBe(false);
    }
  });

  it("refuses a window in the future, and one longer than a call records", async () => {
    const ahead = await worker().recordHistory(
      {
        from: new Date(Date.now() - 60_000).toISOString(),
        to: new Date(Date.now() + 600_000).toISOString(),
        stepMs: 60_000,
      },
      ACTOR,
    );
    expect(ahead).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    const long = await worker().recordHistory(
      { from: "2026-11-01T00:00:00.000Z", to: "2026-11-02T00:00:00.000Z", stepMs: 60_000 },
      ACTOR,
    );
    expect(long).toMatchObject({ ok: false, error: { code: "validation_failed" } });
  });
});

type Cfg = {
  vars?: Record<string, string>;
  services?: { binding: string }[];
  env?: Record<string, Cfg>;
};
