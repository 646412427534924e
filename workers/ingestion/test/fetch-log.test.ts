// The fetch log (#18 item 1, docs/replay.md): every fetch in fetch order, even of bytes already stored; read a window
// at a time through the RPC; pruned after a complete pass past its retention.
import { beforeEach, describe, expect, it } from "vitest";
import { METADATA_URL_MAX, storeEvidence } from "../src/evidence";
import {
  DEFAULT_FETCH_LOG_RETENTION_DAYS,
  FETCH_LOG_PRUNE_LIMIT,
  fetchLogRetention,
  MIN_FETCH_LOG_RETENTION_DAYS,
} from "../src/fetch-log";
import { runVenue } from "../src/pipeline";
import { count, resetAll, tenv, testDeps, worker } from "./helpers";
import { oneMarketKalshi } from "./kalshi-fixtures";

beforeEach(resetAll);

const store = () => ({ bucket: tenv.R2_EVIDENCE, db: tenv.D1_MARKETS });
const book = (yes: string) => ({
  url: "https://api.elections.kalshi.com/trade-api/v2/markets/KXA-1/orderbook",
  status: 200,
  contentType: "application/json",
  bytes: new TextEncoder().encode(`{"orderbook_fp":{"yes_dollars":[["${yes}","10.00"]],"no_dollars":[]}}`),
  retryAfter: null,
});
const at = (s: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, s)).toISOString();
const WINDOW = { from: "2026-11-24T10:00:00Z", to: "2026-11-24T11:00:00Z" };

describe("the fetch log", () => {
  it("stores a 100-ticker lookup whose URL is too long for R2's metadata: whole in D1, cut in the object's metadata", async () => {
    const tickers = Array.from(
      { length: 100 },
      (_, i) => `KXMVECROSSCATEGORY-S2026-LONGTICKERNAME-${i}`,
    ).join(",");
    const url = `https://api.elections.kalshi.com/trade-api/v2/markets?tickers=${encodeURIComponent(tickers)}`;
    expect(url.length).toBeGreaterThan(METADATA_URL_MAX);
    const hash = await storeEvidence(store(), "kalshi", { ...book("0.42"), url }, at(0));
    const head = await tenv.R2_EVIDENCE.head(hash);
    expect(new TextEncoder().encode(head?.customMetadata?.url).byteLength).toBeLessThanOrEqual(
      METADATA_URL_MAX,
    );
    expect(head?.customMetadata?.url).toMatch(/whole in D1\)$/);
    const page = await worker().listFetches(WINDOW);
    expect(page.ok && page.value.fetches.map((f) => f.url)).toEqual([url]);
  });

  it("a book that went A, B, A, B, A keeps five fetches in order, of two evidence objects", async () => {
    const hashes: string[] = [];
    for (const [i, yes] of ["0.40", "0.41", "0.40", "0.41", "0.40"].entries())
      hashes.push(await storeEvidence(store(), "kalshi", book(yes), at(i)));
    const [a, b] = hashes;
    expect(hashes).toEqual([a, b, a, b, a]);
    expect(a).not.toBe(b);
    // Content-addressed evidence holds each once; its sightings keep A's first and last fetch, not the middle one.
    expect(await count("evidence")).toBe(2);
    const page = await worker().listFetches(WINDOW);
    expect(page.ok).toBe(true);
    if (!page.ok) return;
    expect(page.value.fetches).toEqual(
      hashes.map((hash, i) => ({ hash, venue: "kalshi", url: book("").url, status: 200, fetchedAt: at(i) })),
    );
    expect(page.value.hashes).toEqual([a, b]);
    expect(page.value.cursor).toBeNull();
  });

  it("a crawled page logs its fetch in the batch that records its evidence", async () => {
    const fetch = oneMarketKalshi();
    const { report } = await runVenue(testDeps({ fetch }), "kalshi", { maxPages: 1 });
    expect(report).toMatchObject({ outcome: "ok", stored: 1 });
    // The series list, the markets page and the events lookup: each fetch once, each naming recorded evidence.
    const logged = await tenv.D1_MARKETS.prepare(
      "SELECT f.url, f.status, e.hash IS NOT NULL AS recorded FROM evidence_fetches f LEFT JOIN evidence e ON e.hash = f.hash ORDER BY f.fetched_at, f.id",
    ).all<{ url: string; status: number; recorded: number }>();
    expect(logged.results.map((r) => new URL(r.url).pathname.split("/").at(-1))).toEqual([
      "series",
      "markets",
      "events",
    ]);
    expect(logged.results.every((r) => r.status === 200 && r.recorded === 1)).toBe(true);
  });

  it("pages a window completely, in fetch order (ties in the order logged), and nothing outside it", async () => {
    // 23 fetches inside the window, several at the same millisecond, and one on each side of it.
    const times = [-1, 0, 0, 0, 1, 2, 2, 3, 4, 5, 5, 5, 5, 6, 7, 8, 9, 9, 10, 11, 12, 13, 14, 15, 3600];
    const logged: { hash: string; fetchedAt: string }[] = [];
    for (const [i, s] of times.entries()) {
      const hash = await storeEvidence(store(), "kalshi", book(`0.${String(i).padStart(2, "0")}`), at(s));
      logged.push({ hash, fetchedAt: at(s) });
    }
    const inside = logged.filter((f) => f.fetchedAt >= at(0) && f.fetchedAt < at(3600));
    expect(inside).toHaveLength(23);
    const seen: { hash: string; fetchedAt: string }[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await worker().listFetches({ ...WINDOW, limit: 5, ...(cursor ? { cursor } : {}) });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.value.fetches.length).toBeLessThanOrEqual(5);
      expect(r.value.hashes).toEqual([...new Set(r.value.fetches.map((f) => f.hash))]);
      seen.push(...r.value.fetches.map((f) => ({ hash: f.hash, fetchedAt: f.fetchedAt })));
      cursor = r.value.cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual(inside);
    // A window named in another offset is the same window.
    const shifted = await worker().listFetches({
      from: "2026-11-24T11:00:00+01:00",
      to: WINDOW.to,
      limit: 1,
    });
    expect(shifted.ok && shifted.value.fetches[0]?.fetchedAt).toBe(at(0));
  });

  it("refuses a window that does not run forwards, an unreadable cursor and an oversized page", async () => {
    const bad = [
      { from: WINDOW.to, to: WINDOW.from },
      { from: WINDOW.from, to: WINDOW.from },
      { ...WINDOW, cursor: "not a cursor" },
      { ...WINDOW, limit: 1001 },
      { from: "yesterday", to: WINDOW.to },
    ];
    for (const q of bad) {
      const r = await worker().listFetches(q);
      expect(r.ok, JSON.stringify(q)).toBe(false);
      if (!r.ok) expect(r.error.code).toBe("validation_failed");
    }
  });

  it("a complete pass prunes the fetches older than the retention, and only those", async () => {
    const now = Date.now();
    const hour = 3_600_000;
    const old = await storeEvidence(store(), "kalshi", book("0.30"), new Date(now - 3 * hour).toISOString());
    const kept = await storeEvidence(store(), "kalshi", book("0.31"), new Date(now - hour).toISOString());
    const fetch = oneMarketKalshi();
    const { report } = await runVenue(testDeps({ fetch, fetchLogRetentionMs: 2 * hour }), "kalshi", {
      maxPages: 1,
    });
    expect(report).toMatchObject({ outcome: "ok", passCompleted: true });
    expect(await count("evidence_fetches", "hash = ?1", old)).toBe(0);
    expect(await count("evidence_fetches", "hash = ?1", kept)).toBe(1);
    // The evidence itself stays (the log is pruned, not the evidence), and this pass's own fetches are logged.
    expect(await count("evidence", "hash = ?1", old)).toBe(1);
    expect(await count("evidence_fetches", "fetched_at >= ?1", new Date(now).toISOString())).toBe(3);
    // A pass that does not complete prunes nothing.
    await storeEvidence(store(), "kalshi", book("0.32"), new Date(now - 3 * hour).toISOString());
    const partial = oneMarketKalshi("p2");
    const second = await runVenue(testDeps({ fetch: partial, fetchLogRetentionMs: 2 * hour }), "kalshi", {
      maxPages: 1,
    });
    expect(second.report.passCompleted).toBe(false);
    expect(await count("evidence_fetches", "fetched_at < ?1", new Date(now - 2 * hour).toISOString())).toBe(
      1,
    );
  });

  it("the retention holds the longest citable replay (31 days ending up to 3 days ago) unless set longer", () => {
    const day = 86_400_000;
    expect(MIN_FETCH_LOG_RETENTION_DAYS).toBe(34);
    expect(DEFAULT_FETCH_LOG_RETENTION_DAYS).toBe(34);
    expect(fetchLogRetention(undefined)).toEqual({ ms: 34 * day, refused: null });
    expect(fetchLogRetention("90")).toEqual({ ms: 90 * day, refused: null });
    expect(fetchLogRetention("34")).toEqual({ ms: 34 * day, refused: null });
    for (const bad of ["30", "33.9", "-1", "thirty", "Infinity"]) {
      const r = fetchLogRetention(bad);
      expect(r.ms, bad).toBe(34 * day);
      expect(r.refused, bad).toContain("FETCH_LOG_RETENTION_DAYS");
    }
    expect(FETCH_LOG_PRUNE_LIMIT).toBeGreaterThan(0);
  });
});
