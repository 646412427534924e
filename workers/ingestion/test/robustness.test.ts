// Runs that meet something broken: one market the chain cannot represent, a run that throws, a page size a
// venue does not serve. None may stop ingestion silently or count as a healthy run.

import { describe, expect, it } from "vitest";
import type { ComplianceAgent } from "../src/compliance";
import { runVenue } from "../src/pipeline";
import { count, tenv, testDeps } from "./helpers";
import { kalshiMarketFixture, kalshiStubFetch } from "./kalshi-fixtures";

const market = (ticker: string) =>
  kalshiMarketFixture({
    ticker,
    event_ticker: "KXROB",
    title: `Robustness ${ticker}`,
    yes_bid_dollars: "0.4000",
    yes_ask_dollars: "0.4200",
  });

describe("ingestion runs meeting broken input", () => {
  it("a market holding a lone surrogate is denied alone; the rest of the page is stored", async () => {
    // JSON escapes are ASCII on the wire, so the body is valid UTF-8 and the schema accepts the string;
    // only the canonical form the terms hash needs refuses it.
    const body = `{"markets":[${JSON.stringify(market("KXROB-A"))},${JSON.stringify(
      market("KXROB-B"),
    ).replace(
      '"rules_primary":"If the fixture resolves Yes, the market resolves to Yes."',
      '"rules_primary":"pays \\\\ud800 if"',
    )},${JSON.stringify(market("KXROB-C"))}],"cursor":""}`.replace("\\\\ud800", "\\ud800");
    expect(body).toContain("\\ud800");
    const fetch = kalshiStubFetch({ markets: body });
    const { report } = await runVenue(testDeps({ fetch }), "kalshi", { maxPages: 1 });
    expect(report).toMatchObject({ outcome: "ok", fetched: 3, stored: 2, passCompleted: true });
    expect(await count("markets", "market_id IN ('KXROB-A', 'KXROB-C')")).toBe(2);
    expect(await count("markets", "market_id = 'KXROB-B'")).toBe(0);
  });

  it("a run that throws is recorded as failed and counted, and releases its lease", async () => {
    const broken = {
      prepare: async () => {
        throw new Error("storage exploded");
      },
    } as unknown as ComplianceAgent;
    const first = await runVenue(testDeps({ agent: broken }), "polymarket", { maxPages: 1 });
    expect(first.report).toMatchObject({ outcome: "failed", errors: { exception: 1 } });
    const second = await runVenue(testDeps({ agent: broken }), "polymarket", { maxPages: 1 });
    expect(second.consecutiveFailures).toBe(first.consecutiveFailures + 1);
    const runs = await tenv.D1_MARKETS.prepare(
      "SELECT outcome, errors FROM ingest_runs WHERE venue = 'polymarket' ORDER BY rowid DESC LIMIT 2",
    ).all<{ outcome: string; errors: string }>();
    expect(runs.results.map((r) => r.outcome)).toEqual(["failed", "failed"]);
    // The lease was released: a healthy run can take the venue at once.
    const healthy = await runVenue(testDeps(), "polymarket", { maxPages: 1, pageSize: 20 });
    expect(healthy.report.outcome).toBe("ok");
    expect(healthy.consecutiveFailures).toBe(0);
  });

  it("a run that loses its lease (another run took the venue) commits nothing it read after, stops and keeps no cursor", async () => {
    const real = testDeps().fetch;
    let calls = 0;
    // The first page's fetch is slow enough for another run to take over the venue meanwhile.
    const fetch: typeof real = async (url, init) => {
      if (String(url).includes("/markets?") && calls++ === 0)
        await tenv.D1_MARKETS.prepare(
          "UPDATE ingest_state SET lease_owner = 'thief' WHERE venue = 'kalshi'",
        ).run();
      return real(url, init);
    };
    const before = await tenv.D1_MARKETS.prepare(
      "SELECT cursor FROM ingest_state WHERE venue = 'kalshi'",
    ).first<{
      cursor: string | null;
    }>();
    const stored = await count("markets", "venue = 'kalshi'");
    const { report } = await runVenue(testDeps({ fetch }), "kalshi", { maxPages: 3, pageSize: 50 });
    expect(report.errors.lease_lost).toBe(1);
    // The lease is renewed with the page's reads, after its fetch: the page read while another run took the venue
    // is not committed, and no further page is fetched.
    expect(report.pages).toBe(0);
    expect(report.outcome).toBe("failed");
    expect(calls).toBe(1); // one market page
    expect(await count("markets", "venue = 'kalshi'")).toBe(stored);
    const after = await tenv.D1_MARKETS.prepare(
      "SELECT cursor, lease_owner FROM ingest_state WHERE venue = 'kalshi'",
    ).first<{ cursor: string | null; lease_owner: string | null }>();
    expect(after?.cursor ?? null).toBe(before?.cursor ?? null); // the cursor belongs to the run holding the lease
    expect(after?.lease_owner).toBe("thief"); // and its lease is not released by the loser
    await tenv.D1_MARKETS.prepare(
      "UPDATE ingest_state SET lease_owner = NULL, lease_until = NULL WHERE venue = 'kalshi'",
    ).run();
  });

  it("a page size larger than the venue serves is clamped to its maximum", async () => {
    const { report } = await runVenue(testDeps(), "polymarket", { maxPages: 1, pageSize: 1000 });
    expect(report.outcome).toBe("ok");
    expect(report.fetched).toBeLessThanOrEqual(500);
  });
});
