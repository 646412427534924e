// `pnpm bench ingestion` (#16 item 3): the real prebuilt ingestion worker in workerd (Miniflare) crawls Kalshi
// snapshots served from memory by a cache worker, each figure next to its floor measured alone in the same run, in
// the same runtime (a driver worker holding the same bytes, timed from Node the same way), interleaved with the
// pipeline runs so both see the same machine load:
//   - cold: a 10,000-market snapshot (10 pages) into empty storage; floor = JSON.parse + SHA-256 of the same bytes +
//     one R2 put of those bytes + one D1 batch insert of the same rows, per page; target >= 0.7 of the floor;
//   - steady: the same snapshot again with 1 % of the markets changed (every 100th market's best bid); floor =
//     JSON.parse + SHA-256 + one R2 put of the same bytes; target >= 0.5 of the floor;
//   - scale: a 100,000-market universe (100 pages), one full pass into empty storage: markets/s and pass time.
// The snapshot is synthesised from the simulator's realistic universe (its first open pages; pages past the 10th
// repeat them with suffixed tickers); every market's event is one of the first page's hundred events, so the pass
// does not wait on event lookups and the client's token bucket (Kalshi 10 requests/s) does not set the cold and
// steady figures. It does bound the scale pass (100 pages at 10/s): printed with it.
// BENCH_RUNS=n sets the cold/steady runs (5); BENCH_SCALE=0 skips the scale pass (for quick A/B runs of two builds).
// BENCH_PROFILE=1 profiles the ingestion worker's cold and steady passes of the last run (_profile.mjs). Beside the
// wall times it prints workerd's CPU time per pass and floor (Linux): steadier than wall time on a loaded machine.
// Needs the prebuilt bundles: (cd workers/ingestion && npx wrangler deploy --dry-run --outdir dist), same for venue-sim.
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { auxWorker, workerMigrations } from "@paulp/testing";
import { governanceStub, scriptWorker, size, withMesh } from "./_harness.mjs";
import { profileOptions, startProfile } from "./_profile.mjs";

const PAGES = size(10, 2);
const PAGE_SIZE = size(1000, 100);
const SCALE_PAGES = size(100, 3);
const RUNS = Number(process.env.BENCH_RUNS ?? size(5, 1));
const WARMUP = Number(process.env.BENCH_WARMUP ?? size(4, 1));

const stub = (methods) => `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class Stub extends WorkerEntrypoint {
  ${methods}
  async health() { return { service: "stub", ok: true, checks: [] }; }
}`;

// Serves Kalshi's open-market list (GET /markets?status=open…) from a synthesised snapshot of config.pages pages,
// the cursor being "p<k>"; every other URL from the simulator, cached after its first fetch. `variant` v >= 1 moves
// the best bid of every 100th market (1 %), differently for each v; variants 2i and 2i + 1 share their tickers,
// which no other pair has.
const cacheScript = `
const cache = new Map();
let base = null;
let events = [];
let config = { pages: 1, variant: 0, pageSize: 100 };
const generated = new Map();
async function loadBase(env) {
  base = [];
  let cursor = "";
  for (let i = 0; i < Math.min(10, config.pages); i++) {
    const u = new URL("https://api.elections.kalshi.com/trade-api/v2/markets");
    u.searchParams.set("limit", String(config.pageSize));
    u.searchParams.set("status", "open");
    u.searchParams.set("mve_filter", "exclude");
    if (cursor) u.searchParams.set("cursor", cursor);
    const body = await (await env.SIM.fetch(u.href)).json();
    base.push(body.markets);
    cursor = body.cursor;
    if (!cursor) break;
  }
  events = [...new Set(base[0].map((m) => m.event_ticker))].slice(0, 100);
}
function page(k) {
  const key = k + ":" + config.variant;
  let bytes = generated.get(key);
  if (bytes) return bytes;
  const round = Math.floor(k / base.length);
  const markets = base[k % base.length].map((m, i) => {
    const c = { ...m, event_ticker: events[i % events.length] };
    if (round > 0) c.ticker = m.ticker + "-R" + round;
    // Each cold/steady pair of variants (2i, 2i + 1) is a generation of markets never seen before: a cold pass
    // never meets a market an earlier pass stored or the isolate remembers.
    const generation = Math.floor(config.variant / 2);
    if (generation > 0) c.ticker = c.ticker + "-G" + generation;
    if (config.variant > 0 && i % 100 === 0) c.yes_bid_dollars = (0.01 * (1 + (config.variant % 50))).toFixed(4);
    return c;
  });
  bytes = new TextEncoder().encode(JSON.stringify({ markets, cursor: k + 1 < config.pages ? "p" + (k + 1) : "" }));
  generated.set(key, bytes);
  return bytes;
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/config") {
      const next = JSON.parse(url.searchParams.get("c"));
      if (!base || next.pageSize !== config.pageSize) { config = next; await loadBase(env); }
      config = next;
      generated.clear();
      return Response.json({ ok: true, basePages: base.length });
    }
    if (url.pathname === "/__bench/page") return new Response(page(Number(url.searchParams.get("k"))));
    if (url.hostname === "api.elections.kalshi.com" && url.pathname === "/trade-api/v2/markets" && url.searchParams.get("status") === "open") {
      const cursor = url.searchParams.get("cursor");
      const k = cursor ? Number(cursor.slice(1)) : 0;
      return new Response(page(k), { headers: { "content-type": "application/json" } });
    }
    let hit = cache.get(request.url);
    if (!hit) {
      const res = await env.SIM.fetch(request.url, { headers: request.headers });
      hit = { status: res.status, type: res.headers.get("content-type") ?? "application/json", body: await res.arrayBuffer() };
      if (res.status === 200) cache.set(request.url, hit);
    }
    return new Response(hit.body, { status: hit.status, headers: { "content-type": hit.type } });
  },
};`;

// The driver runs the pipeline over RPC (/run) and, in the same workerd, the floors (/floor): decode, JSON.parse and
// SHA-256 (WebCrypto, as the evidence path uses) of the same page bytes held in memory beforehand (/load), one R2 put
// of each page's bytes and (cold) one D1 batch inserting the page's rows into a markets table of the same schema.
const driverScript = `
let pages = [];
let tag = 0;
const COLS = 17;
const sql = "INSERT INTO markets (venue, market_id, event_id, series_id, title, category, status, close_time, rules, resolution_source, yes_bid, yes_ask, last_price, outcome_tokens, evidence_hash, fetched_at, content_key) SELECT " +
  Array.from({ length: COLS }, (_, i) => "value ->> '$[" + i + "]'").join(", ") + " FROM json_each(?1)";
export default {
  async fetch(request, env) {
    const { pathname, searchParams } = new URL(request.url);
    if (pathname === "/load") {
      pages = [];
      const n = Number(searchParams.get("pages"));
      for (let k = 0; k < n; k++) {
        const res = await env.CACHE.fetch("http://bench/__bench/page?k=" + k);
        pages.push(new Uint8Array(await res.arrayBuffer()));
      }
      await env.FLOOR_DB.prepare("DELETE FROM markets").run();
      await env.FLOOR_DB.prepare("DELETE FROM evidence").run();
      return Response.json({ pages: pages.length, bytes: pages.reduce((n, p) => n + p.byteLength, 0) });
    }
    if (pathname === "/floor") {
      const withInsert = searchParams.get("kind") === "cold";
      if (withInsert) {
        await env.FLOOR_DB.prepare("DELETE FROM markets").run();
        await env.FLOOR_DB.prepare("DELETE FROM evidence").run();
      }
      tag++;
      const t0 = Date.now();
      let n = 0;
      const at = new Date().toISOString();
      for (let i = 0; i < pages.length; i++) {
        const p = pages[i];
        const markets = JSON.parse(new TextDecoder().decode(p)).markets;
        n += markets.length;
        const digest = await crypto.subtle.digest("SHA-256", p);
        const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
        await env.FLOOR_R2.put("floor/" + tag + "/" + i, p);
        if (withInsert) {
          const stmts = [env.FLOOR_DB.prepare("INSERT INTO evidence (hash, venue, url, status, size, content_type, fetched_at, last_seen_at) VALUES (?1, 'kalshi', 'bench', 200, ?2, 'application/json', ?3, ?3)").bind(hash, p.byteLength, at)];
          for (let j = 0; j < markets.length; j += 200) {
            const rows = markets.slice(j, j + 200).map((m) => ["kalshi", m.ticker, m.event_ticker, null, m.title ?? "", null, m.status, m.close_time,
              m.rules_primary ?? null, null, m.yes_bid_dollars ?? null, m.yes_ask_dollars ?? null, m.last_price_dollars ?? null, null, hash, at, null]);
            stmts.push(env.FLOOR_DB.prepare(sql).bind(JSON.stringify(rows)));
          }
          await env.FLOOR_DB.batch(stmts);
        }
      }
      return Response.json({ markets: n });
    }
    const r = await env.INGESTION.runNow(
      { venues: ["kalshi"], maxPages: Number(searchParams.get("maxPages")), pageSize: ${PAGE_SIZE} },
      { method: "system", subject: "bench:ingestion" },
    );
    return Response.json(r);
  },
};`;

const ingestion = auxWorker("ingestion");
const workers = [
  scriptWorker("bench-driver", driverScript, {
    serviceBindings: { INGESTION: "paulp-ingestion", CACHE: "bench-cache" },
    d1Databases: { FLOOR_DB: "bench-floor-db" },
    r2Buckets: { FLOOR_R2: "bench-floor-r2" },
  }),
  {
    ...ingestion,
    serviceBindings: {
      AUDIT: "paulp-audit",
      RISK: "paulp-risk",
      GOVERNANCE: "paulp-governance",
      VENUE_SIM: "bench-cache",
    },
  },
  scriptWorker("bench-cache", cacheScript, { serviceBindings: { SIM: "paulp-venue-sim" } }),
  auxWorker("venue-sim", { bindings: { SIM_UNIVERSE: "realistic" } }),
  scriptWorker(
    "paulp-audit",
    stub(`async append() { return { ok: true, value: { seq: 1, hash: "0".repeat(64) } }; }
  async appendMany(e) { return { ok: true, value: e.map((_, i) => ({ seq: i, hash: "0".repeat(64) })) }; }`),
  ),
  scriptWorker(
    "paulp-risk",
    stub(`async recordMarks(m) { return { ok: true, value: { applied: m.length } }; }
  async getLimits() { return { ok: true, value: { version: 1, limits: { maxMarkAgeSeconds: 120 }, updatedAt: "", updatedBy: "bench" } }; }
  async reportSuccess() { return { ok: true, value: {} }; }
  async reportFailure() { return { ok: true, value: {} }; }`),
  ),
  scriptWorker(
    "paulp-governance",
    governanceStub(
      `  async proposePairs(c) { return { ok: true, value: { created: c.length, lapsed: 0 } }; }`,
    ),
  ),
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The CPU time workerd spent (user + system, every thread: the workers, D1, R2), in ms; Linux only (null elsewhere).
// Printed beside the wall times: the work a pass does, much less swayed by a loaded machine than its wall time.
const stat = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return {
    comm: f.slice(f.indexOf("(") + 1, f.lastIndexOf(")")),
    ppid: Number(rest[1]),
    ticks: Number(rest[11]) + Number(rest[12]),
  };
};
let workerdPid;
const workerdCpuMs = () => {
  try {
    workerdPid ??= readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .find((d) => {
        const s = stat(d);
        return s.comm === "workerd" && s.ppid === process.pid;
      });
    return workerdPid ? stat(workerdPid).ticks * 10 : null; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
};
/** Wall and workerd CPU time of `f`. */
const timed = async (f) => {
  const cpu = workerdCpuMs();
  const t = performance.now();
  const value = await f();
  const ms = performance.now() - t;
  const after = workerdCpuMs();
  return { value, ms, cpu: cpu === null || after === null ? null : after - cpu };
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

await withMesh(
  workers,
  async ({ mf, json }) => {
    const db = await mf.getD1Database("D1_MARKETS", "paulp-ingestion");
    const floorDb = await mf.getD1Database("FLOOR_DB", "bench-driver");
    const bucket = await mf.getR2Bucket("R2_EVIDENCE", "paulp-ingestion");
    // The floor's table is the same markets table (primary key, status index, evidence foreign key).
    for (const m of await workerMigrations("ingestion"))
      for (const sql of m.queries) {
        await db.prepare(sql).run();
        await floorDb.prepare(sql).run();
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
        [
          "markets",
          "kalshi_events",
          "kalshi_series",
          "market_snapshots",
          "evidence_sightings",
          "evidence_fetches",
          "evidence",
          "ingest_state",
          "ingest_runs",
          "compliance_blocks",
        ].map((t) => db.prepare(`DELETE FROM ${t}`)),
      );
      for (;;) {
        const list = await bucket.list({ limit: 1000 });
        if (list.objects.length === 0) break;
        await bucket.delete(list.objects.map((o) => o.key));
      }
    };
    // The cache worker is reached through the driver's CACHE binding for the floor's bytes; configure it directly.
    const cacheWorker = await mf.getWorker("bench-cache");
    const configureCache = async (pages, variant) => {
      const c = encodeURIComponent(JSON.stringify({ pages, variant, pageSize: PAGE_SIZE }));
      const res = await cacheWorker.fetch(`http://bench/__bench/config?c=${c}`);
      if (!res.ok) throw new Error(`cache config failed: ${res.status}`);
    };
    const load = async (pages) => {
      const r = await json(`/load?pages=${pages}`);
      if (r.pages !== pages) throw new Error(`floor loaded ${r.pages} pages`);
      return r.bytes;
    };
    const floorCpu = { cold: [], steady: [] };
    const floorOnce = async (kind, pages) => {
      const { value: r, ms, cpu } = await timed(() => json(`/floor?kind=${kind}`));
      if (r.markets !== pages * PAGE_SIZE) throw new Error(`floor parsed ${r.markets} markets`);
      floorCpu[kind].push(cpu);
      return ms;
    };
    // One pass from where ingest_state stands, over as many runNow calls as it takes (runNow takes ≤ 20 pages).
    const pass = async (pages) => {
      const reports = [];
      for (;;) {
        const body = await json(`/run?maxPages=${Math.min(20, pages)}`);
        if (!body.ok) throw new Error(`run failed: ${JSON.stringify(body.error)}`);
        const report = body.value[0];
        if (report.outcome !== "ok") throw new Error(`run not ok: ${JSON.stringify(report)}`);
        reports.push(report);
        if (report.passCompleted) break;
        if (reports.length > pages) throw new Error("the pass did not complete");
      }
      const sum = (k) => reports.reduce((n, r) => n + (r[k] ?? 0), 0);
      const skipped = reports.reduce((n, r) => n + (r.errors.market_unrepresentable ?? 0), 0);
      const fetched = sum("fetched");
      if (fetched !== pages * PAGE_SIZE || sum("stored") + skipped !== fetched)
        throw new Error(`stored ${sum("stored")} of ${pages * PAGE_SIZE}: ${JSON.stringify(reports)}`);
      return { fetched, stored: sum("stored"), changed: sum("changed"), marksSent: sum("marksSent") };
    };
    // A fresh full pass of the same snapshot (the stored rows stay): no cursor, no incremental starting point.
    const forgetPass = () => db.prepare("DELETE FROM ingest_state").run();

    // Warm-up: fills the caches and lets V8 optimise the pipeline as a worker re-polling every minute has it (a
    // single pass left the first timed runs ~25 % slower than the later ones): cold and steady passes, then the
    // floors, alternated as the timed runs do.
    for (let w = 0; w < WARMUP; w++) {
      await configureCache(PAGES, 1000 + w);
      if (w % 2 === 0) await reset();
      else await forgetPass();
      await load(PAGES);
      await pass(PAGES);
      await floorOnce(w % 2 === 0 ? "cold" : "steady", PAGES);
    }
    floorCpu.cold.length = 0;
    floorCpu.steady.length = 0;
    const cold = { pipe: [], floor: [], ratios: [], cpu: [] };
    const steady = { pipe: [], floor: [], ratios: [], changed: [], marks: [], cpu: [] };
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      // Cold: empty storage, snapshot variant 2i.
      await configureCache(PAGES, 2 * i);
      bytes = await load(PAGES);
      await reset();
      await sleep(1100); // let the client's token bucket refill
      const before = [
        await floorOnce("cold", PAGES),
        await floorOnce("cold", PAGES),
        await floorOnce("cold", PAGES),
      ];
      const coldProfile = i === RUNS - 1 ? await startProfile("paulp-ingestion") : null;
      const c = await timed(() => pass(PAGES));
      await coldProfile?.stop("cold");
      cold.cpu.push(c.cpu);
      const after = [
        await floorOnce("cold", PAGES),
        await floorOnce("cold", PAGES),
        await floorOnce("cold", PAGES),
      ];
      cold.pipe.push(c.ms);
      cold.floor.push(...before, ...after);
      cold.ratios.push(median([...before, ...after]) / c.ms);
      // Steady: the same snapshot again with 1 % of the markets changed (variant 2i + 1), into what cold stored.
      await configureCache(PAGES, 2 * i + 1);
      await load(PAGES);
      await forgetPass();
      await sleep(1100);
      const sBefore = [
        await floorOnce("steady", PAGES),
        await floorOnce("steady", PAGES),
        await floorOnce("steady", PAGES),
      ];
      const steadyProfile = i === RUNS - 1 ? await startProfile("paulp-ingestion") : null;
      const { value: r, ms, cpu } = await timed(() => pass(PAGES));
      await steadyProfile?.stop("steady");
      steady.cpu.push(cpu);
      const sAfter = [
        await floorOnce("steady", PAGES),
        await floorOnce("steady", PAGES),
        await floorOnce("steady", PAGES),
      ];
      steady.pipe.push(ms);
      steady.floor.push(...sBefore, ...sAfter);
      steady.ratios.push(median([...sBefore, ...sAfter]) / ms);
      steady.changed.push(r.changed);
      steady.marks.push(r.marksSent);
    }
    const markets = PAGES * PAGE_SIZE;
    const rate = (ms, n = markets) => (n / (ms / 1000)).toFixed(0);
    const fmt = (xs) => xs.map((x) => x.toFixed(3)).join(", ");
    console.log(
      `snapshot: ${markets} markets, ${PAGES} pages, ${(bytes / 1e6).toFixed(2)} MB; ${RUNS} runs each`,
    );
    console.log(
      `cold pipeline (empty storage), median: ${median(cold.pipe).toFixed(0)} ms, ${rate(median(cold.pipe))} markets/s (runs: ${cold.pipe.map((x) => x.toFixed(0)).join(", ")} ms)`,
    );
    console.log(
      `cold floor (JSON.parse + SHA-256 + R2 put + D1 batch insert of the rows), median of ${cold.floor.length}: ${median(cold.floor).toFixed(1)} ms`,
    );
    console.log(
      `cold ratio floor/pipeline: ${(median(cold.floor) / median(cold.pipe)).toFixed(3)} of medians; per run ${fmt(cold.ratios)}, median ${median(cold.ratios).toFixed(3)} (target >= 0.7)`,
    );
    console.log(
      `steady pipeline (1 % changed: ${steady.changed.join("/")} rows rewritten, ${steady.marks.join("/")} marks sent), median: ${median(steady.pipe).toFixed(0)} ms, ${rate(median(steady.pipe))} markets/s (runs: ${steady.pipe.map((x) => x.toFixed(0)).join(", ")} ms)`,
    );
    console.log(
      `steady floor (JSON.parse + SHA-256 + R2 put), median of ${steady.floor.length}: ${median(steady.floor).toFixed(1)} ms`,
    );
    console.log(
      `steady ratio floor/pipeline: ${(median(steady.floor) / median(steady.pipe)).toFixed(3)} of medians; per run ${fmt(steady.ratios)}, median ${median(steady.ratios).toFixed(3)} (target >= 0.5)`,
    );
    if (cold.cpu.every((x) => x !== null))
      for (const [kind, f] of [
        ["cold", cold],
        ["steady", steady],
      ])
        console.log(
          `${kind} workerd CPU (user + system, all threads), median: pipeline ${median(f.cpu)} ms (runs: ${f.cpu.join(", ")}), floor ${median(floorCpu[kind])} ms; ratio ${(median(floorCpu[kind]) / median(f.cpu)).toFixed(3)} (for comparing builds; the targets are on wall time)`,
        );

    // Scale: a 100,000-market universe, one full pass into empty storage.
    if (process.env.BENCH_SCALE === "0") return;
    await configureCache(SCALE_PAGES, 2 * (RUNS + 1)); // a generation no timed pass saw
    await reset();
    await sleep(1100);
    const t = performance.now();
    const r = await pass(SCALE_PAGES);
    const ms = performance.now() - t;
    console.log(
      `scale: ${r.fetched} markets (${SCALE_PAGES} pages) in one full pass: ${(ms / 1000).toFixed(1)} s, ${rate(ms, r.fetched)} markets/s (the client's Kalshi bucket allows 10 requests/s: >= ${((SCALE_PAGES - 10) / 10).toFixed(1)} s for ${SCALE_PAGES} pages after its 10-token burst)`,
    );
  },
  profileOptions(),
);
