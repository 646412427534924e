// Ingestion writes what changed (#16 item 1) and no market stays `active` after it left the venue's open list
// (#12: Polymarket's closed markets, Kalshi's in kalshi-conformance.test.ts).
import type { MarkUpdate } from "@paulp/contracts";
import { kalshiRequestProblems } from "@paulp/kalshi-spec";
import type { EgressFetch } from "@paulp/kit";
import { gammaMarketsUrl } from "@paulp/venue-decode";
import { beforeEach, describe, expect, it } from "vitest";
import { ComplianceAgent, loadRules } from "../src/compliance";
import { Tally } from "../src/deps";
import { preparePage, type RunContext } from "../src/page";
import { METADATA_SKEW_S, runVenue } from "../src/pipeline";
import { ingestionStatus } from "../src/status";
import { pruneSnapshotsStatements, runBatches } from "../src/store";
import { auditEvents, count, resetAll, tenv, testDeps, worker } from "./helpers";

beforeEach(resetAll);

interface Row {
  market_id: string;
  evidence_hash: string;
  fetched_at: string;
  status: string;
  content_key: string | null;
}

async function rows(venue: string): Promise<Map<string, Row>> {
  const r = await tenv.D1_MARKETS.prepare(
    "SELECT market_id, evidence_hash, fetched_at, status, content_key FROM markets WHERE venue = ?1",
  )
    .bind(venue)
    .all<Row>();
  return new Map(r.results.map((x) => [x.market_id, x]));
}

async function sentMarks(): Promise<MarkUpdate[]> {
  const calls = await tenv.RISK._calls();
  return calls.filter((c) => c.method === "recordMarks").flatMap((c) => c.marks as MarkUpdate[]);
}

/**
 * The simulator's answers, each frozen at its first fetch (so a price step between two runs changes nothing by
 * itself), and `edit` applied to gamma keyset pages: a venue whose market changed between two snapshots.
 */
/** The next run reads the first page again (a one-page run leaves the cursor at the second). */
const fromFirstPage = () =>
  tenv.D1_MARKETS.prepare("UPDATE ingest_state SET cursor = NULL WHERE venue = 'polymarket'").run();

function frozen(): {
  fetch: EgressFetch;
  edit: (f: ((m: Record<string, unknown>[]) => void) | null) => void;
} {
  const real = testDeps().fetch;
  const cache = new Map<string, { status: number; body: string; type: string }>();
  let editor: ((m: Record<string, unknown>[]) => void) | null = null;
  const fetch: EgressFetch = async (input, init) => {
    const url = typeof input === "string" ? input : input.href;
    let hit = cache.get(url);
    if (!hit) {
      const res = await real(input, init);
      hit = { status: res.status, body: await res.text(), type: res.headers.get("content-type") ?? "" };
      cache.set(url, hit);
    }
    let body = hit.body;
    if (editor && url.includes("/markets/keyset")) {
      const page = JSON.parse(body) as { markets: Record<string, unknown>[] };
      editor(page.markets);
      body = JSON.stringify(page);
    }
    return new Response(body, { status: hit.status, headers: { "content-type": hit.type } });
  };
  return { fetch, edit: (f) => (editor = f) };
}

describe("ingestion writes what changed", () => {
  it("an unchanged row is not rewritten but is recorded as seen with the evidence of the snapshot that saw it; a changed row is written; marks go to risk only when changed or ageing", async () => {
    const { fetch, edit } = frozen();
    let clock = Date.now();
    const deps = testDeps({ fetch, now: () => clock });
    const first = await runVenue(deps, "polymarket", { maxPages: 1, pageSize: 100 });
    expect(first.report).toMatchObject({ outcome: "ok", pages: 1 });
    expect(first.report.changed).toBe(first.report.stored);
    const before = await rows("polymarket");
    expect(before.size).toBe(first.report.stored);
    // The content key: its scheme, the terms' fingerprint, then the row's other content columns.
    for (const r of before.values()) expect(r.content_key).toMatch(/^c2:[0-9a-f]{16}\[/);
    const firstMarks = await sentMarks();
    expect(firstMarks.length).toBeGreaterThan(10);

    // The next snapshot: one market's best bid moved, every other market is the same.
    const movedId = firstMarks[3]!.market;
    const moved = [...before.values()].find((r) => r.market_id === movedId)!;
    edit((markets) => {
      for (const m of markets)
        if (String(m.conditionId).toLowerCase() === movedId)
          m.bestBid = Number(m.bestBid ?? 0.1) === 0.2 ? 0.3 : 0.2;
    });
    clock += 5_000;
    await fromFirstPage();
    await tenv.RISK._reset();
    const second = await runVenue(deps, "polymarket", { maxPages: 1, pageSize: 100 });
    expect(second.report).toMatchObject({
      outcome: "ok",
      stored: first.report.stored,
      changed: 1,
      marksSent: 1,
    });
    const after = await rows("polymarket");
    const e2 = after.get(movedId)!.evidence_hash;
    expect(e2).not.toBe(moved.evidence_hash);
    expect(after.get(movedId)!.fetched_at).toBe(new Date(clock).toISOString());
    // Every other row is as the first snapshot wrote it (not rewritten)...
    for (const [id, r] of before) if (id !== movedId) expect(after.get(id)).toEqual(r);
    // ...and seen in the second: one snapshot row for the page, naming its evidence.
    const unchangedId = [...before.keys()].find((id) => id !== movedId)!;
    const seen = await worker().getMarket("polymarket", unchangedId);
    expect(seen.ok && seen.value.lastSeen).toEqual({ at: new Date(clock).toISOString(), evidenceHash: e2 });
    expect(seen.ok && seen.value.evidenceHash).toBe(before.get(unchangedId)!.evidence_hash);
    expect(await count("market_snapshots", "venue = 'polymarket'")).toBe(2);
    const evidence = await worker().getEvidence(e2);
    expect(evidence.ok).toBe(true);
    // Only the changed market's mark went to risk, and is the one stored with its row; the others keep theirs.
    expect((await sentMarks()).map((m) => m.market)).toEqual([movedId]);
    const markedId = firstMarks.find((m) => m.market !== movedId)!.market;
    const movedMark = await worker().getMark("polymarket", movedId);
    expect(movedMark.ok && movedMark.value).toMatchObject({
      evidenceHash: e2,
      observedAt: new Date(clock).toISOString(),
    });
    const keptMark = await worker().getMark("polymarket", markedId);
    expect(keptMark.ok && keptMark.value.evidenceHash).toBe(before.get(markedId)!.evidence_hash);

    // Past half risk's freshness limit (120 s, read from risk), unchanged marks are sent again before they age out.
    clock += 61_000;
    await fromFirstPage();
    await tenv.RISK._reset();
    const third = await runVenue(deps, "polymarket", { maxPages: 1, pageSize: 100 });
    expect(third.report.changed).toBe(0);
    const resent = await sentMarks();
    expect(resent.length).toBe(firstMarks.length);
    for (const m of resent) expect(m.observedAt).toBe(new Date(clock).toISOString());
    expect((await tenv.RISK._calls()).some((c) => c.method === "getLimits")).toBe(true);
    // A refreshed mark is stored on its row, the row itself not rewritten: the next snapshot has none due.
    const refreshed = await worker().getMark("polymarket", markedId);
    expect(refreshed.ok && refreshed.value.observedAt).toBe(new Date(clock).toISOString());
    expect((await rows("polymarket")).get(markedId)).toEqual(after.get(markedId));
    clock += 1_000;
    await fromFirstPage();
    const fourth = await runVenue(deps, "polymarket", { maxPages: 1, pageSize: 100 });
    expect(fourth.report).toMatchObject({ changed: 0, marksSent: 0 });
  });
});

describe("a page's stored states are read with the page, before the previous page's commit ends", () => {
  it("a market the previous page listed too is compared with what that commit wrote, not with what was read before it", async () => {
    const { fetch } = frozen();
    const deps = testDeps({ fetch });
    const first = await runVenue(deps, "polymarket", { maxPages: 1, pageSize: 100 });
    expect(first.report).toMatchObject({ outcome: "ok", pages: 1 });
    const stored = await rows("polymarket");
    const id = [...stored.keys()][0]!;
    // Page A lists the market with a new best bid, page B (the next page) as stored: B's state is read while A's
    // commit has not run yet, as when the crawl reads a page while the previous one commits.
    const urlA = gammaMarketsUrl(null, 100);
    const urlB = `${urlA}&page=b`;
    const pages: EgressFetch = async (input, init) => {
      const url = typeof input === "string" ? input : input.href;
      const res = await fetch(url === urlB ? urlA : input, init);
      if (url !== urlA) return res;
      const page = (await res.json()) as { markets: Record<string, unknown>[] };
      for (const m of page.markets)
        if (String(m.conditionId).toLowerCase() === id)
          m.bestBid = Number(m.bestBid ?? 0.1) === 0.2 ? 0.3 : 0.2;
      return Response.json(page);
    };
    const pageDeps = testDeps({ fetch: pages });
    const agent = new ComplianceAgent();
    let rulesVersion = 0;
    await agent.prepare(async () => {
      const view = await loadRules(tenv.D1_MARKETS);
      rulesVersion = view.version;
      return view.rules;
    });
    // The pages are read under a lease of their own, as a run's are.
    await tenv.D1_MARKETS.prepare(
      "UPDATE ingest_state SET lease_owner = 'pages', lease_until = ?1 WHERE venue = 'polymarket'",
    )
      .bind(Date.now() + 60_000)
      .run();
    const run: RunContext = {
      leaseOwner: "pages",
      agent,
      rulesVersion,
      alreadyBlocked: new Set(),
      markRefreshMs: 60_000,
      events: new Map(),
      committing: new Set(),
      urlAfter: null,
      ahead: null,
    };
    const tally = new Tally();
    const a = await preparePage(pageDeps, run, "polymarket", urlA, null, tally);
    const b = await preparePage(pageDeps, run, "polymarket", urlB, null, tally);
    if (!a.ok || !b.ok) throw new Error("a page failed");
    const wroteA = await a.commit();
    expect(wroteA).toMatchObject({ ok: true, changed: 1 });
    expect((await rows("polymarket")).get(id)!.content_key).not.toBe(stored.get(id)!.content_key);
    // B lists the market as it was before A: a change against what A wrote, so it is written again.
    const wroteB = await b.commit();
    expect(wroteB).toMatchObject({ ok: true, changed: 1 });
    const after = await rows("polymarket");
    expect(after.get(id)!.content_key).toBe(stored.get(id)!.content_key);
    for (const [other, r] of stored)
      if (other !== id) expect(after.get(other)!.content_key).toBe(r.content_key);
  });
});

describe("no Polymarket market stays active after it left gamma's open list", () => {
  it("a complete pass looks up the markets it did not list by condition id: closed ones are stored closed, one gamma does not answer is unlisted", async () => {
    // Two markets gamma lists as closed (so the closed=false crawl never shows them), stored earlier as active.
    const res = await testDeps().fetch(
      "https://gamma-api.polymarket.com/markets/keyset?closed=true&limit=20",
    );
    const closedIds = ((await res.json()) as { markets: { conditionId?: string | null }[] }).markets
      .map((m) => m.conditionId)
      .filter((c): c is string => typeof c === "string" && /^0x[0-9a-f]{64}$/i.test(c))
      .slice(0, 2)
      .map((c) => c.toLowerCase());
    expect(closedIds).toHaveLength(2);
    const gone = `0x${"ab".repeat(32)}`;
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const ev = "e".repeat(64);
    await tenv.D1_MARKETS.batch([
      tenv.D1_MARKETS.prepare(
        "INSERT INTO evidence (hash, venue, url, status, size, content_type, fetched_at, last_seen_at, parse_status) VALUES (?1, 'polymarket', 'https://gamma-api.polymarket.com/markets/keyset', 200, 1, 'application/json', ?2, ?2, 'accepted')",
      ).bind(ev, at),
      ...[...closedIds, gone].map((id) =>
        tenv.D1_MARKETS.prepare(
          "INSERT INTO markets (venue, market_id, title, status, evidence_hash, fetched_at, content_key) VALUES ('polymarket', ?1, 'Earlier open market', 'active', ?2, ?3, 'x')",
        ).bind(id, ev, at),
      ),
    ]);
    const { fetch, sent } = (() => {
      const real = testDeps().fetch;
      const sent: string[] = [];
      const f: EgressFetch = (input, init) => {
        sent.push(typeof input === "string" ? input : input.href);
        return real(input, init);
      };
      return { fetch: f, sent };
    })();
    const { report } = await runVenue(testDeps({ fetch }), "polymarket", { maxPages: 60, pageSize: 500 });
    expect(report).toMatchObject({ outcome: "ok", passCompleted: true });
    const after = await rows("polymarket");
    expect(closedIds.map((id) => after.get(id)?.status)).toEqual(["closed", "closed"]);
    expect(after.get(gone)?.status).toBe("unlisted");
    expect(
      await count(
        "markets",
        "venue = 'polymarket' AND status = 'active' AND market_id IN (?1, ?2, ?3)",
        ...closedIds,
        gone,
      ),
    ).toBe(0);
    // The lookup is the SDK's listMarkets({ pageSize, conditionIds }): keyset, condition_ids repeated, no closed filter.
    const lookups = sent.filter((u) => new URL(u).searchParams.has("condition_ids"));
    expect(lookups).toHaveLength(1);
    const q = new URL(lookups[0]!).searchParams;
    expect(new URL(lookups[0]!).pathname).toBe("/markets/keyset");
    expect(q.getAll("condition_ids").sort()).toEqual([...closedIds, gone].sort());
    expect(q.has("closed")).toBe(false);
    expect([...q.keys()][0]).toBe("limit");
    const closed = (await auditEvents()).filter((e) => e.type === "ingestion.markets_closed");
    expect(closed).toHaveLength(1);
    expect(closed[0]!.payload).toMatchObject({
      venue: "polymarket",
      checked: 3,
      count: 3,
      statuses: { closed: 2, unlisted: 1 },
    });
    // The closed markets name the lookup's evidence.
    const lookupEvidence = after.get(closedIds[0]!)!.evidence_hash;
    expect(
      await count("evidence_sightings", "hash = ?1 AND url LIKE ?2", lookupEvidence, "%condition_ids=%"),
    ).toBe(1);
  });
});

describe("Kalshi between full passes: the incremental metadata crawl", () => {
  it("after a complete full pass, runs ask GET /markets?min_updated_ts (mve_filter=exclude, no status) until the next full pass is due", async () => {
    const sent: string[] = [];
    const real = testDeps().fetch;
    const fetch: EgressFetch = (input, init) => {
      sent.push(typeof input === "string" ? input : input.href);
      return real(input, init);
    };
    let clock = Date.now();
    const deps = testDeps({ fetch, now: () => clock, fullPassEveryMs: 30 * 60_000 });
    const full = await runVenue(deps, "kalshi", { maxPages: 5, pageSize: 1000 });
    expect(full.report).toMatchObject({ outcome: "ok", passCompleted: true, mode: "full" });
    const passStart = Math.floor(Date.parse(full.report.startedAt) / 1000);
    clock += 2 * 60_000;
    sent.length = 0;
    const incremental = await runVenue(deps, "kalshi", { maxPages: 5, pageSize: 1000 });
    expect(incremental.report).toMatchObject({ outcome: "ok", mode: "incremental", passCompleted: false });
    const pages = sent.filter((u) => new URL(u).pathname.endsWith("/markets"));
    expect(pages.length).toBeGreaterThan(0);
    for (const u of pages) {
      const q = new URL(u).searchParams;
      expect(q.get("min_updated_ts")).toBe(String(passStart - METADATA_SKEW_S));
      expect(q.get("mve_filter")).toBe("exclude");
      expect(q.has("status")).toBe(false);
      expect(
        await kalshiRequestProblems({ method: "GET", url: u, headers: new Headers(), body: null }),
        u,
      ).toEqual([]);
    }
    // The full pass's cursor and start are untouched; the next incremental crawl asks from this one's start.
    const state = await tenv.D1_MARKETS.prepare(
      "SELECT cursor, pass_started_at, metadata_since FROM ingest_state WHERE venue = 'kalshi'",
    ).first<{ cursor: string | null; pass_started_at: string; metadata_since: number }>();
    expect(state).toEqual({
      cursor: null,
      pass_started_at: full.report.startedAt,
      metadata_since: Math.floor(Date.parse(incremental.report.startedAt) / 1000) - METADATA_SKEW_S,
    });
    // Once the last full pass is older than the interval, the next run is a full pass again.
    clock += 30 * 60_000;
    const again = await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 1000 });
    expect(again.report.mode).toBe("full");
    // Each run's kind is kept with it, so the runs list (and the soak) can tell a pass from the crawl of changes.
    const modes = await tenv.D1_MARKETS.prepare(
      "SELECT mode FROM ingest_runs WHERE venue = 'kalshi' ORDER BY id",
    ).all<{ mode: string }>();
    expect(modes.results.map((r) => r.mode)).toEqual(["full", "incremental", "full"]);
    expect((await ingestionStatus(tenv.D1_MARKETS)).venues.kalshi.lastRun?.mode).toBe("full");
  });
});

describe("snapshot prune", () => {
  it("keeps each market's last sighting on its row when no retained page lists it (the newest old page), and only then", async () => {
    const db = tenv.D1_MARKETS;
    const [e1, e2, e3] = ["1", "2", "3"].map((c) => c.repeat(64));
    const pass = "2026-11-24T12:00:00.000Z";
    await db.batch([
      ...[e1, e2, e3].map((h) =>
        db
          .prepare(
            "INSERT INTO evidence (hash, venue, url, status, size, content_type, fetched_at, last_seen_at, parse_status) VALUES (?1, 'kalshi', 'u', 200, 1, 'application/json', ?2, ?2, 'accepted')",
          )
          .bind(h, pass),
      ),
      ...["KXA", "KXB", "KXC", "KXD"].map((id) =>
        db
          .prepare(
            "INSERT INTO markets (venue, market_id, title, status, evidence_hash, fetched_at, content_key) VALUES ('kalshi', ?1, 't', 'active', ?2, ?3, 'x')",
          )
          .bind(id, e1, pass),
      ),
      // Two pages before the pass (both list KXB: the later one is its last sighting), one in it.
      ...[
        [e1, "2026-11-24T10:00:00.000Z", ["KXA", "KXB", "KXC"]],
        [e2, "2026-11-24T11:00:00.000Z", ["KXB", "KXD"]],
        [e3, "2026-11-24T12:30:00.000Z", ["KXD"]],
      ].map(([h, at, ids]) =>
        db
          .prepare(
            "INSERT INTO market_snapshots (venue, evidence_hash, seen_at, market_ids) VALUES ('kalshi', ?1, ?2, ?3)",
          )
          .bind(h, at, JSON.stringify(ids)),
      ),
      // Polymarket's pages are not the Kalshi prune's.
      db
        .prepare(
          "INSERT INTO market_snapshots (venue, evidence_hash, seen_at, market_ids) VALUES ('polymarket', ?1, '2026-11-24T11:30:00.000Z', '[\"KXA\"]')",
        )
        .bind(e3),
    ]);
    await runBatches(db, pruneSnapshotsStatements(db, "kalshi", pass));
    const got = await db
      .prepare(
        "SELECT market_id, last_seen_at, last_seen_evidence FROM markets WHERE venue = 'kalshi' ORDER BY market_id",
      )
      .all<{ market_id: string; last_seen_at: string | null; last_seen_evidence: string | null }>();
    expect(got.results).toEqual([
      { market_id: "KXA", last_seen_at: "2026-11-24T10:00:00.000Z", last_seen_evidence: e1 },
      { market_id: "KXB", last_seen_at: "2026-11-24T11:00:00.000Z", last_seen_evidence: e2 },
      { market_id: "KXC", last_seen_at: "2026-11-24T10:00:00.000Z", last_seen_evidence: e1 },
      // Listed by a page of the pass: its last sighting is that page, still retained.
      { market_id: "KXD", last_seen_at: null, last_seen_evidence: null },
    ]);
    const left = await db.prepare("SELECT venue, evidence_hash FROM market_snapshots ORDER BY id").all();
    expect(left.results).toEqual([
      { venue: "kalshi", evidence_hash: e3 },
      { venue: "polymarket", evidence_hash: e3 },
    ]);
  });
});
