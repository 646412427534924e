import type { PairCandidate } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import { beforeEach, describe, expect, it } from "vitest";
import { proposePairs } from "../src/pairs";
import { runIngestion, runVenue } from "../src/pipeline";
import { termsHash } from "../src/terms";
import { auditEvents, count, fault, resetAll, tenv, testDeps, worker } from "./helpers";

/** A whole Polymarket pass is ~40 keyset pages through the real simulator and D1: bounded work, slow under load. */
const PASS_TIMEOUT_MS = 180_000;

beforeEach(resetAll);

interface MarketDb {
  market_id: string;
  evidence_hash: string;
  yes_bid: string | null;
}

describe("evidence first", () => {
  it("stores a page and every stored row leads to evidence whose bytes hash to it", async () => {
    const deps = testDeps();
    const { report } = await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 150 });
    // One of the 150 (the simulator's planted market with an empty close_time) cannot be represented: skipped,
    // counted, audited; the other 149 are stored.
    expect(report).toMatchObject({ outcome: "ok", pages: 1, fetched: 150, stored: 149, blocked: 0 });
    expect(report.errors).toEqual({ market_unrepresentable: 1 });
    const rows = (
      await tenv.D1_MARKETS.prepare("SELECT market_id, evidence_hash, yes_bid FROM markets").all<MarketDb>()
    ).results;
    expect(rows).toHaveLength(149);
    const byHash = new Map<string, string[]>();
    for (const r of rows) byHash.set(r.evidence_hash, [...(byHash.get(r.evidence_hash) ?? []), r.market_id]);
    for (const [hash, ids] of byHash) {
      const object = await tenv.R2_EVIDENCE.get(hash);
      expect(object).not.toBeNull();
      const bytes = new Uint8Array(await object!.arrayBuffer());
      expect(await sha256Hex(bytes)).toBe(hash);
      const listed = (
        JSON.parse(new TextDecoder().decode(bytes)) as { markets: { ticker: string }[] }
      ).markets.map((m) => m.ticker);
      for (const id of ids) expect(listed).toContain(id);
      const record = await tenv.D1_MARKETS.prepare(
        "SELECT venue, status, size, parse_status FROM evidence WHERE hash = ?1",
      )
        .bind(hash)
        .first();
      expect(record).toMatchObject({
        venue: "kalshi",
        status: 200,
        size: bytes.byteLength,
        parse_status: "accepted",
      });
    }
    for (const r of rows) {
      expect(r.yes_bid).toMatch(/^\d\.\d{4}$/);
    }
    // Marks went to risk with their evidence hash and category.
    const marks = (await tenv.RISK._calls())
      .filter((c) => c.method === "recordMarks")
      .flatMap((c) => c.marks as Record<string, unknown>[]);
    expect(marks).toHaveLength(149);
    expect(byHash.has(marks[0]!.evidenceHash as string)).toBe(true);
    expect(marks[0]).toHaveProperty("category");
  });

  it("a failed evidence write stores nothing and parses nothing", async () => {
    const failing = new Proxy(tenv.R2_EVIDENCE, {
      get(target, prop) {
        if (prop === "put")
          return async () => {
            throw new Error("r2 down");
          };
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const deps = testDeps({ bucket: failing });
    const { report } = await runVenue(deps, "polymarket", { maxPages: 2, pageSize: 100 });
    expect(report.outcome).toBe("failed");
    expect(report.errors).toEqual({ evidence_write: 1 });
    expect(await count("markets")).toBe(0);
    expect(await count("markets", "mark_price IS NOT NULL")).toBe(0);
    expect(await count("evidence")).toBe(0);
    expect((await tenv.RISK._calls()).filter((c) => c.method === "recordMarks")).toHaveLength(0);
    const events = await auditEvents();
    expect(events.map((e) => e.type)).toContain("ingestion.evidence_failed");
  });

  it("a failed evidence record in D1 also stores nothing", async () => {
    // A D1 that refuses the evidence insert but answers everything else.
    const db = new Proxy(tenv.D1_MARKETS, {
      get(target, prop) {
        if (prop === "prepare")
          return (sql: string) => {
            if (sql.includes("INSERT INTO evidence")) throw new Error("d1 refused");
            return target.prepare(sql);
          };
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const { report } = await runVenue(testDeps({ db }), "kalshi", { maxPages: 1, pageSize: 50 });
    // The pass's series list and its first page: neither could be kept, so neither was used.
    expect(report.errors).toEqual({ evidence_write: 2 });
    expect(await count("markets")).toBe(0);
  });
});

const faults: {
  name: string;
  spec: Record<string, unknown>;
  kind: string;
  evidence: boolean;
  client?: Record<string, number>;
}[] = [
  { name: "persistent 5xx", spec: { kind: "server_error", status: 503 }, kind: "http_503", evidence: true },
  {
    name: "429 with a long retry-after",
    spec: { kind: "rate_limit", retryAfter: 3600 },
    kind: "rate_limited",
    evidence: true,
  },
  {
    name: "429 in Kalshi's {error} form, persistent",
    spec: { kind: "rate_limit", bodyForm: "error_string" },
    kind: "rate_limited",
    evidence: true,
  },
  { name: "malformed JSON", spec: { kind: "malformed" }, kind: "malformed_json", evidence: true },
  { name: "truncated JSON", spec: { kind: "truncated" }, kind: "malformed_json", evidence: true },
  { name: "200 with the wrong shape", spec: { kind: "wrong_shape" }, kind: "schema", evidence: true },
  {
    name: "a huge body",
    spec: { kind: "huge", sizeBytes: 300_000 },
    kind: "too_large",
    evidence: false,
    client: { maxBodyBytes: 100_000 },
  },
];

describe("each simulator fault ends with no bad data stored, the error counted and audited", () => {
  for (const venue of ["kalshi", "polymarket"] as const) {
    const host = venue === "kalshi" ? "api.elections.kalshi.com" : "gamma-api.polymarket.com";
    for (const f of faults) {
      it(`${venue}: ${f.name}`, async () => {
        // Kalshi: the fault hits the market list (the pass's series and event reads are tested on their own).
        await fault({
          host,
          ...(venue === "kalshi" ? { pathPrefix: "/trade-api/v2/markets" } : {}),
          ...f.spec,
        });
        const deps = testDeps(f.client ? { client: { baseDelayMs: 1, ...f.client } } : {});
        const { report } = await runVenue(deps, venue, { maxPages: 2, pageSize: 100 });
        expect(report.outcome).toBe("failed");
        expect(report.errors[f.kind]).toBe(1);
        expect(await count("markets")).toBe(0);
        expect(await count("markets", "mark_price IS NOT NULL")).toBe(0);
        expect(await count("evidence", "parse_status = 'accepted' AND url LIKE '%/markets%'")).toBe(0);
        expect(await count("evidence", "parse_status = 'rejected'")).toBe(f.evidence ? 1 : 0);
        const events = await auditEvents();
        const rejected = events.find((e) => e.type === "ingestion.response_rejected");
        expect(rejected?.payload).toMatchObject({ venue, kind: f.kind });
        if (f.evidence) expect(rejected?.payload.evidenceHash).toMatch(/^[0-9a-f]{64}$/);
        const run = await tenv.D1_MARKETS.prepare("SELECT errors FROM ingest_runs WHERE venue = ?1")
          .bind(venue)
          .first<{ errors: string }>();
        expect(JSON.parse(run!.errors)[f.kind]).toBe(1);
      });
    }
  }

  it("the simulator's real token bucket: a 429 without retry-after backs off, then the run stops partial", async () => {
    const res = await tenv.VENUE_SIM.fetch("https://api.elections.kalshi.com/__sim/faults/rate-limits", {
      method: "PUT",
      // Three reads: the pass's series list, the first page, and that page's events; the second page is refused.
      body: JSON.stringify({ bucket: "kalshi", capacity: 3, refillPerSecond: 0 }),
    });
    expect(res.status).toBe(200);
    const deps = testDeps({ client: { baseDelayMs: 10 } });
    const { report } = await runVenue(deps, "kalshi", { maxPages: 3, pageSize: 20 });
    expect(report).toMatchObject({ outcome: "partial", pages: 1, stored: 20 });
    expect(report.errors.rate_limited).toBe(1);
    // Jittered exponential backoff between the three attempts (random() = 0.5).
    expect(deps.sleeps.filter((s) => s >= 5)).toEqual([5, 10]);
    expect(await count("markets")).toBe(20);
  });

  it("retries a 429 honouring its retry-after, then stores", async () => {
    await fault({ host: "api.elections.kalshi.com", kind: "rate_limit", retryAfter: 2, times: 1 });
    const deps = testDeps();
    const { report } = await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 20 });
    expect(report).toMatchObject({ outcome: "ok", stored: 20 });
    expect(deps.sleeps).toContain(2000);
    // The 429 body is evidence too, marked rejected.
    expect(await count("evidence", "status = 429 AND parse_status = 'rejected'")).toBe(1);
  });

  it("retries a 5xx with jittered backoff, then stores", async () => {
    await fault({ host: "gamma-api.polymarket.com", kind: "server_error", times: 2 });
    const deps = testDeps({ client: { baseDelayMs: 100 } });
    const { report } = await runVenue(deps, "polymarket", { maxPages: 1, pageSize: 20 });
    expect(report).toMatchObject({ outcome: "ok", stored: 20 });
    // random() = 0.5: half of 100·2^attempt.
    expect(deps.sleeps.filter((s) => s >= 50)).toEqual([50, 100]);
  });

  it("a slow venue times out: counted, audited, nothing stored", async () => {
    await fault({
      host: "api.elections.kalshi.com",
      pathPrefix: "/trade-api/v2/markets",
      kind: "latency",
      latencyMs: 1500,
    });
    const { createEgressFetch } = await import("@paulp/kit");
    const deps = testDeps({
      fetch: createEgressFetch({ simulator: tenv.VENUE_SIM, timeoutMs: 200 }),
      client: { baseDelayMs: 1, maxAttempts: 1 },
    });
    const { report } = await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 20 });
    expect(report.outcome).toBe("failed");
    expect(report.errors.timeout).toBe(1);
    expect(await count("markets")).toBe(0);
    expect(
      (await auditEvents()).some(
        (e) => e.type === "ingestion.response_rejected" && e.payload.kind === "timeout",
      ),
    ).toBe(true);
  });
});

describe("schedule", () => {
  it("continues from the stored cursor and completes a pass", { timeout: PASS_TIMEOUT_MS }, async () => {
    const { polymarketUniverse } = await import("@paulp/sim-universe");
    const open = polymarketUniverse(20261124).poly.filter((m) => !m.closed);
    // What gamma lists that we can store: open markets with a question, a condition id and YES/NO outcomes.
    const storable = open.filter((m) => !m.quirks.question && !m.quirks.conditionId && !m.quirks.outcomes);
    const deps = testDeps();
    // Gamma serves 100 of the 500 asked for: three pages are 300 markets, and the pass is not over.
    const first = await runVenue(deps, "polymarket", { maxPages: 3, pageSize: 500 });
    expect(first.report).toMatchObject({ pages: 3, fetched: 300, passCompleted: false });
    expect(await count("markets", "venue = 'polymarket'")).toBe(first.report.stored);
    const second = await runVenue(deps, "polymarket", { maxPages: 100, pageSize: 500 });
    expect(second.report).toMatchObject({ pages: Math.ceil(open.length / 100) - 3, passCompleted: true });
    expect(first.report.fetched + second.report.fetched).toBe(open.length);
    expect(await count("markets", "venue = 'polymarket'")).toBe(storable.length);
    const state = await tenv.D1_MARKETS.prepare(
      "SELECT cursor, passes_completed FROM ingest_state WHERE venue = 'polymarket'",
    ).first();
    expect(state).toEqual({ cursor: null, passes_completed: 1 });
  });

  it("a failed D1 commit stops the run and the cursor stays before the page that failed", async () => {
    let commits = 0;
    const db = new Proxy(tenv.D1_MARKETS, {
      get(target, prop) {
        if (prop === "batch")
          return async (statements: D1PreparedStatement[]) => {
            // A page commit is the batch that records its snapshot (with its markets, marks, evidence status and the
            // rules version read); fail the second page's. (workerd's statements carry their SQL as `statement`.)
            const commit = statements.some((s) =>
              (s as unknown as { statement?: string }).statement?.includes("INSERT INTO market_snapshots"),
            );
            if (commit && ++commits === 2) throw new Error("d1 write failed");
            return target.batch(statements);
          };
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const sent: string[] = [];
    const deps = testDeps({ db });
    const inner = deps.fetch;
    deps.fetch = (input, init) => {
      sent.push(String(input));
      return inner(input, init);
    };
    const { report } = await runVenue(deps, "polymarket", { maxPages: 4, pageSize: 100 });
    expect(report).toMatchObject({ outcome: "partial", pages: 1, passCompleted: false });
    expect(report.errors.d1_error).toBe(1);
    const state = await tenv.D1_MARKETS.prepare(
      "SELECT cursor FROM ingest_state WHERE venue = 'polymarket'",
    ).first();
    // The cursor that fetched the page whose commit failed: the next run fetches it again.
    expect(state).toEqual({ cursor: new URL(sent[1]!).searchParams.get("after_cursor") });
    expect(await count("markets")).toBe(report.stored);
    expect((await auditEvents()).some((e) => e.type === "ingestion.store_failed")).toBe(true);
  });

  it("reports repeated venue failures to the risk breaker, and success when all venues are well", async () => {
    await fault({ host: "gamma-api.polymarket.com", kind: "server_error" });
    const deps = testDeps();
    await runIngestion(deps, { venues: ["polymarket"], maxPages: 1, pageSize: 10 });
    let calls = await tenv.RISK._calls();
    expect(calls.filter((c) => c.method === "reportFailure")).toHaveLength(0);
    await runIngestion(deps, { venues: ["polymarket"], maxPages: 1, pageSize: 10 });
    calls = await tenv.RISK._calls();
    const failures = calls.filter((c) => c.method === "reportFailure");
    expect(failures).toHaveLength(1);
    expect(failures[0]!.kind).toBe("venue_api_error");
    expect(String(failures[0]!.detail)).toContain("polymarket: 2 consecutive");
    expect(calls.filter((c) => c.method === "reportSuccess")).toHaveLength(0);
    await tenv.VENUE_SIM.fetch("https://x/__sim/faults", { method: "DELETE" });
    await runIngestion(deps, { venues: ["polymarket"], maxPages: 1, pageSize: 10 });
    expect((await tenv.RISK._calls()).filter((c) => c.method === "reportSuccess")).toHaveLength(1);
  });

  it("a failing risk worker is logged, not fatal: data is still stored", async () => {
    await tenv.RISK._set({ failing: true });
    const { report } = await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 30 });
    expect(report).toMatchObject({ outcome: "ok", stored: 30 });
    expect(report.errors.risk_marks_failed).toBe(1);
  });

  it("proposes text-matched pairs to governance after a completed pass, including every planted pair", {
    timeout: PASS_TIMEOUT_MS,
  }, async () => {
    const { plantedPairs } = await import("@paulp/sim-universe");
    const deps = testDeps();
    await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 100 });
    await runIngestion(deps, { venues: ["polymarket"], maxPages: 60, pageSize: 500 });
    const calls = (await tenv.GOVERNANCE._calls()).filter((c) => c.method === "proposePairs");
    expect(calls).toHaveLength(1);
    const candidates = calls[0]!.candidates as {
      kalshi: { marketId: string; termsHash: string; evidenceHash: string };
      polymarket: { marketId: string; outcomeTokens: string[] };
    }[];
    const keys = new Set(candidates.map((c) => `${c.kalshi.marketId}|${c.polymarket.marketId}`));
    for (const p of plantedPairs(20261124))
      expect(keys.has(`${p.kalshiTicker}|${p.polymarketConditionId.toLowerCase()}`)).toBe(true);
    // Weather and sports markets never match each other.
    expect(candidates.every((c) => !c.kalshi.marketId.startsWith("KXHIGH"))).toBe(true);
    expect(candidates[0]!.kalshi.termsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(candidates[0]!.polymarket.outcomeTokens).toHaveLength(2);
    expect(calls[0]!.actor).toMatchObject({ method: "system" });
  });

  it("proposes and serves terms hashes of the current scheme, computed from the stored fields (none is stored)", {
    timeout: PASS_TIMEOUT_MS,
  }, async () => {
    const deps = testDeps();
    await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 100 });
    await runIngestion(deps, { venues: ["polymarket"], maxPages: 10, pageSize: 500 });
    // The row holds no terms hash to trust: what is proposed and served is SHA-256 over its stored fields.
    const columns = await tenv.D1_MARKETS.prepare("SELECT name FROM pragma_table_info('markets')").all<{
      name: string;
    }>();
    expect(columns.results.map((c) => c.name)).not.toContain("terms_hash");
    await tenv.GOVERNANCE._reset();
    await proposePairs(deps);
    const calls = (await tenv.GOVERNANCE._calls()).filter((c) => c.method === "proposePairs");
    const c = (calls.at(-1)!.candidates as PairCandidate[])[0]!;
    for (const leg of [c.kalshi, c.polymarket]) {
      expect(leg.termsVersion).toBe(2);
      expect(leg.termsHash).toBe(
        await termsHash({
          venue: leg.venue,
          marketId: leg.marketId,
          title: leg.title,
          rules: leg.rules,
          resolutionSource: leg.resolutionSource,
          closeTime: leg.closeTime,
          outcomeTokens: leg.outcomeTokens ?? null,
        }),
      );
    }
    const served = await worker().getMarket("polymarket", c.polymarket.marketId);
    expect(served.ok && served.value.termsHash).toBe(c.polymarket.termsHash);
  });

  it("reads the universe in slices for pairing: any slice size proposes the same candidates", {
    timeout: PASS_TIMEOUT_MS,
  }, async () => {
    const deps = testDeps();
    await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 100 });
    await runIngestion(deps, { venues: ["polymarket"], maxPages: 10, pageSize: 500 });
    const proposed = async (slice?: number) => {
      await tenv.GOVERNANCE._reset();
      await proposePairs(deps, slice);
      const calls = (await tenv.GOVERNANCE._calls()).filter((c) => c.method === "proposePairs");
      return calls.at(-1)!.candidates as PairCandidate[];
    };
    const whole = await proposed();
    expect(whole.length).toBeGreaterThan(0);
    // 7 rows a slice: every venue is read over many slices, the last one short.
    expect(await proposed(7)).toEqual(whole);
  });

  it("checks stored markets against the current rules again before proposing them (a rule added since)", {
    timeout: PASS_TIMEOUT_MS,
  }, async () => {
    const { plantedPairs } = await import("@paulp/sim-universe");
    const deps = testDeps();
    await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 100 });
    const blockedTicker = plantedPairs(20261124)[0]!.kalshiTicker;
    // A pattern rule on that ticker, added after its page was ingested (the stored row is still there).
    expect(
      await worker().putComplianceRules(
        { rules: [{ id: "late", kind: "pattern", value: blockedTicker, reason: "added after ingestion" }] },
        { method: "access", subject: "alice", email: "alice@example.com" },
      ),
    ).toMatchObject({ ok: true });
    expect(await count("markets", "market_id = ?", blockedTicker)).toBe(1);
    await runIngestion(deps, { venues: ["polymarket"], maxPages: 60, pageSize: 500 });
    const calls = (await tenv.GOVERNANCE._calls()).filter((c) => c.method === "proposePairs");
    expect(calls).toHaveLength(1);
    const kalshiIds = (calls[0]!.candidates as { kalshi: { marketId: string } }[]).map(
      (c) => c.kalshi.marketId,
    );
    expect(kalshiIds.length).toBeGreaterThan(0);
    expect(kalshiIds).not.toContain(blockedTicker);
  });

  it("a failing governance worker is logged, not fatal", { timeout: PASS_TIMEOUT_MS }, async () => {
    await tenv.GOVERNANCE._set({ failing: true });
    const deps = testDeps();
    await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 50 });
    const reports = await runIngestion(deps, { venues: ["polymarket"], maxPages: 60, pageSize: 500 });
    expect(reports[0]).toMatchObject({ outcome: "ok", passCompleted: true });
    expect((await tenv.GOVERNANCE._calls()).length).toBe(1);
  });
});
