// The page after this one is fetched while this one is gated, planned and stored (page.ts, "fetched ahead"): it
// changes when the next request goes out, never what a run asks for, in what order, keeps or stores.
import type { EgressFetch } from "@paulp/kit";
import { kalshiMarketsUrl } from "@paulp/venue-decode";
import { beforeEach, describe, expect, it } from "vitest";
import type { ReadBucket } from "../src/client";
import { ComplianceAgent, type ComplianceEntity } from "../src/compliance";
import { runVenue } from "../src/pipeline";
import { fetchVenue, takeReadToken } from "../src/venue-reads";
import { blockKalshi, count, resetAll, tenv, testDeps } from "./helpers";

beforeEach(resetAll);

/** The market-list pages among the URLs a run sent (not the series, events or lookups), in order. */
function listPages(log: string[]): string[] {
  return log
    .filter((l) => l.startsWith("fetch "))
    .map((l) => l.slice(6))
    .filter((u) => {
      const url = new URL(u);
      return url.pathname.endsWith("/markets") && url.searchParams.get("status") === "open";
    });
}

/**
 * Deps that log, in order: each read token taken ("take", synchronously as a request starts), each request sent
 * ("fetch <url>", once its token is in hand), and the first market of each page the gate judges ("gate <id>").
 */
function logged(): { deps: ReturnType<typeof testDeps>; log: string[] } {
  const log: string[] = [];
  const base = testDeps();
  const fetch: EgressFetch = (input, init) => {
    log.push(`fetch ${typeof input === "string" ? input : input.href}`);
    return base.fetch(input, init);
  };
  const buckets = new Map<"kalshi" | "polymarket", ReadBucket>();
  for (const [venue, bucket] of base.buckets)
    buckets.set(venue, {
      take: (now) => {
        log.push("take");
        return bucket.take(now);
      },
    });
  let gated = 0;
  class LoggingAgent extends ComplianceAgent {
    override check(entity: ComplianceEntity) {
      // A page of 40: its first market is the 0th, 40th, 80th judged.
      if (gated++ % 40 === 0) log.push(`gate ${entity.marketId}`);
      return super.check(entity);
    }
  }
  return { deps: testDeps({ fetch, buckets, agent: new LoggingAgent() }), log };
}

describe("the page after this one, fetched ahead", () => {
  it("has begun (its read token taken) when this page's rows are gated; a run asks for the pages it may take, in order", async () => {
    const { deps, log } = logged();
    const { report } = await runVenue(deps, "kalshi", { maxPages: 3, pageSize: 40 });
    expect(report).toMatchObject({ outcome: "ok", pages: 3, fetched: 120 });
    const pages = listPages(log);
    // Three pages, each from the cursor the one before it gave; none fetched beyond what the run may take.
    expect(pages).toHaveLength(3);
    expect(new URL(pages[0]!).searchParams.has("cursor")).toBe(false);
    expect(new Set(pages.slice(1).map((u) => new URL(u).searchParams.get("cursor"))).size).toBe(2);
    // When page 1 and page 2 are gated, one request more has begun than has been sent: the next page's, whose token
    // was taken just before (its fetch goes out once this synchronous work yields). Page 3, the run's last, has
    // no page after it. Before, the next page was asked for only after this one was gated and planned.
    const gates = log.map((l, i) => (l.startsWith("gate ") ? i : -1)).filter((i) => i >= 0);
    expect(gates).toHaveLength(3);
    const begun = (i: number) => log.slice(0, i).filter((l) => l === "take").length;
    const sent = (i: number) => log.slice(0, i).filter((l) => l.startsWith("fetch ")).length;
    expect(gates.map((g) => begun(g) - sent(g))).toEqual([1, 1, 0]);
    // One read token a request: the next page's, asked for while this page's reads went, is the one its fetch used.
    expect(log.filter((l) => l === "take").length).toBe(log.filter((l) => l.startsWith("fetch ")).length);
    // Every page asked for was stored, each page's evidence accepted.
    expect(await count("evidence", "parse_status = 'accepted' AND url LIKE '%status=open%'")).toBe(3);
  });

  it("a read token asked for early counts its wait from when it was asked", async () => {
    let now = 1_000_000;
    const deps = testDeps({ now: () => now, buckets: new Map([["kalshi", { take: () => 1_000 }]]) });
    const token = takeReadToken(deps, "kalshi");
    now += 600;
    const outcome = await fetchVenue(deps, "kalshi", kalshiMarketsUrl(null, 5), undefined, token);
    expect(outcome.ok).toBe(true);
    expect(deps.sleeps).toEqual([400]);
  });

  it("a run that stops first (the rules replaced under it) keeps the page fetched ahead as evidence, stores nothing of it", async () => {
    const sim = testDeps().fetch;
    const sent: string[] = [];
    let replaced = false;
    const fetch: EgressFetch = async (input, init) => {
      const url = typeof input === "string" ? input : input.href;
      sent.push(`fetch ${url}`);
      // An admin replaces the rules while the first page is read: its commit writes nothing and the run stops.
      if (!replaced && listPages([`fetch ${url}`]).length === 1) {
        replaced = true;
        await blockKalshi();
      }
      return sim(input, init);
    };
    const { report } = await runVenue(testDeps({ fetch }), "kalshi", { maxPages: 3, pageSize: 40 });
    expect(report.errors.rules_changed).toBe(1);
    expect(report).toMatchObject({ pages: 0, stored: 0 });
    // Page 2 was read (fetched ahead while page 1 was stored, then prepared) and page 3 fetched ahead of it; the run
    // stopped when page 1's commit came back refused.
    const pages = listPages(sent);
    expect(pages).toHaveLength(3);
    for (const url of pages.slice(1)) {
      // Each one's bytes are evidence (R2 and D1, its fetch in the log), kept unparsed or unused.
      const row = await tenv.D1_MARKETS.prepare("SELECT hash, parse_status FROM evidence WHERE url = ?1")
        .bind(url)
        .first<{ hash: string; parse_status: string }>();
      expect(row?.parse_status).toBe("pending");
      expect(await tenv.R2_EVIDENCE.head(row!.hash)).not.toBeNull();
      expect(await count("evidence_fetches", "url = ?1", url)).toBe(1);
    }
    expect(await count("markets")).toBe(0);
  });
});
