// Ingestion throughput: a 10,000-market Kalshi snapshot through evidence (SHA-256, R2, D1 record), valibot
// parse, the compliance gate and D1 upserts, run by the real prebuilt ingestion worker in workerd (Miniflare),
// next to the floor of JSON.parse + SHA-256 of the same bytes measured in the same run. Prints figures only.
// Needs the prebuilt bundles: (cd workers/ingestion && npx wrangler deploy --dry-run --outdir dist), same for venue-sim.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { auxWorker, REPO_ROOT } from "@paulp/testing";
import { Miniflare } from "miniflare";

const PAGES = 10;
const PAGE_SIZE = 1000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const stub = (methods) => `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class Stub extends WorkerEntrypoint {
  ${methods}
  async health() { return { service: "stub", ok: true, checks: [] }; }
}`;

// Serves each venue URL from memory after the first fetch, so the timed runs measure ingestion, not the
// simulator generating pages.
const cacheScript = `
const cache = new Map();
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const target = url.pathname === "/__bench/raw" ? url.searchParams.get("url") : request.url;
    let hit = cache.get(target);
    if (!hit) {
      const res = await env.SIM.fetch(target);
      hit = { status: res.status, type: res.headers.get("content-type") ?? "application/json", body: await res.arrayBuffer() };
      cache.set(target, hit);
    }
    return new Response(hit.body, { status: hit.status, headers: { "content-type": hit.type } });
  },
};`;

const driverScript = `
export default {
  async fetch(request, env) {
    const r = await env.INGESTION.runNow(
      { venues: ["kalshi"], maxPages: ${PAGES}, pageSize: ${PAGE_SIZE} },
      { method: "system", subject: "bench:ingestion" },
    );
    return Response.json(r);
  },
};`;

const ingestion = auxWorker("ingestion");
const mf = new Miniflare({
  workers: [
    {
      name: "bench-driver",
      modules: true,
      script: driverScript,
      compatibilityDate: "2026-04-20",
      serviceBindings: { INGESTION: "paulp-ingestion" },
    },
    {
      ...ingestion,
      serviceBindings: {
        AUDIT: "paulp-audit",
        RISK: "paulp-risk",
        GOVERNANCE: "paulp-governance",
        VENUE_SIM: "bench-cache",
      },
    },
    {
      name: "bench-cache",
      modules: true,
      script: cacheScript,
      compatibilityDate: "2026-04-20",
      serviceBindings: { SIM: "paulp-venue-sim" },
    },
    auxWorker("venue-sim"),
    {
      name: "paulp-audit",
      modules: true,
      compatibilityDate: "2026-04-20",
      script: stub(`async append() { return { ok: true, value: { seq: 1, hash: "0".repeat(64) } }; }
  async appendMany(e) { return { ok: true, value: e.map((_, i) => ({ seq: i, hash: "0".repeat(64) })) }; }`),
    },
    {
      name: "paulp-risk",
      modules: true,
      compatibilityDate: "2026-04-20",
      script: stub(`async recordMarks(m) { return { ok: true, value: { applied: m.length } }; }
  async reportSuccess() { return { ok: true, value: {} }; }
  async reportFailure() { return { ok: true, value: {} }; }`),
    },
    {
      name: "paulp-governance",
      modules: true,
      compatibilityDate: "2026-04-20",
      script: stub(`async proposePairs(c) { return { ok: true, value: { created: c.length, lapsed: 0 } }; }`),
    },
  ],
});

try {
  const db = await mf.getD1Database("D1_MARKETS", "paulp-ingestion");
  const bucket = await mf.getR2Bucket("R2_EVIDENCE", "paulp-ingestion");
  const migrations = path.join(REPO_ROOT, "workers/ingestion/migrations");
  for (const f of readdirSync(migrations)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    const sql = readFileSync(path.join(migrations, f), "utf8").replace(/--.*$/gm, "");
    for (const stmt of sql
      .split(";")
      .map((s) => s.trim())
      .filter(Boolean))
      await db.prepare(stmt).run();
  }
  // A realistic rule set so the gate does real work on every market.
  const rules = [
    { id: "no-elections", kind: "keyword", value: "election", reason: "bench" },
    { id: "no-sports-kalshi", kind: "category", value: "Sports", venues: ["kalshi"], reason: "bench" },
    { id: "no-mentions", kind: "pattern", value: "KXMENTION*", reason: "bench" },
    { id: "no-assassination", kind: "keyword", value: "assassination", reason: "bench" },
  ];
  await db.batch([
    ...rules.map((r, i) =>
      db
        .prepare("INSERT INTO compliance_rules (id, position, rule) VALUES (?1, ?2, ?3)")
        .bind(r.id, i, JSON.stringify(r)),
    ),
    db.prepare(
      "INSERT INTO compliance_meta (singleton, version, updated_at, updated_by) VALUES (1, 1, '2026-01-01T00:00:00Z', 'bench')",
    ),
  ]);

  const reset = async () => {
    await db.batch(
      ["markets", "marks", "evidence", "ingest_state", "ingest_runs", "compliance_blocks"].map((t) =>
        db.prepare(`DELETE FROM ${t}`),
      ),
    );
    for (;;) {
      const list = await bucket.list({ limit: 1000 });
      if (list.objects.length === 0) break;
      await bucket.delete(list.objects.map((o) => o.key));
    }
  };
  const run = async () => {
    const res = await mf.dispatchFetch("http://bench/run");
    const body = await res.json();
    if (!body.ok) throw new Error(`run failed: ${JSON.stringify(body.error)}`);
    const report = body.value[0];
    if (report.stored !== PAGES * PAGE_SIZE)
      throw new Error(`stored ${report.stored}, expected ${PAGES * PAGE_SIZE}: ${JSON.stringify(report)}`);
    return report;
  };

  // Warm-up: fills the page cache, compiles everything.
  await run();
  const pages = [];
  let cursor = "";
  for (let i = 0; i < PAGES; i++) {
    const u = new URL("https://api.elections.kalshi.com/trade-api/v2/markets");
    u.searchParams.set("limit", String(PAGE_SIZE));
    if (cursor) u.searchParams.set("cursor", cursor);
    // The driver is the entry worker; the same cached bytes come from the cache worker directly.
    const cacheWorker = await mf.getWorker("bench-cache");
    const bytes = new Uint8Array(
      await (
        await cacheWorker.fetch(`http://bench/__bench/raw?url=${encodeURIComponent(u.href)}`)
      ).arrayBuffer(),
    );
    pages.push(bytes);
    cursor = JSON.parse(new TextDecoder().decode(bytes)).cursor;
  }
  const totalBytes = pages.reduce((n, p) => n + p.byteLength, 0);

  const pipelineMs = [];
  for (let i = 0; i < RUNS; i++) {
    await reset();
    await new Promise((r) => setTimeout(r, 1100)); // let the client's token bucket refill
    const t = performance.now();
    await run();
    pipelineMs.push(performance.now() - t);
  }
  const floorMs = [];
  for (let i = 0; i < Math.max(RUNS, 5); i++) {
    const t = performance.now();
    for (const p of pages) {
      JSON.parse(new TextDecoder().decode(p));
      createHash("sha256").update(p).digest("hex");
    }
    floorMs.push(performance.now() - t);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const markets = PAGES * PAGE_SIZE;
  const pipeRate = markets / (median(pipelineMs) / 1000);
  const floorRate = markets / (median(floorMs) / 1000);
  console.log(`snapshot: ${markets} markets, ${PAGES} pages, ${(totalBytes / 1e6).toFixed(2)} MB`);
  console.log(
    `pipeline (evidence + parse + compliance + D1), median of ${RUNS}: ${median(pipelineMs).toFixed(0)} ms, ${pipeRate.toFixed(0)} markets/s`,
  );
  console.log(
    `floor (JSON.parse + SHA-256, same bytes): ${median(floorMs).toFixed(1)} ms, ${floorRate.toFixed(0)} markets/s`,
  );
  console.log(`ratio: ${(pipeRate / floorRate).toFixed(3)} (target >= 0.3)`);
} finally {
  await mf.dispose();
}
