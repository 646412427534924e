// Risk benchmark: (1) in-process, at 1,000 and at 10,000 open positions (100 correlation groups): evaluations
// per second of the pure pre-trade check (target >= 100,000/s at both), and the cost of updating the view for one
// changed mark and for one fill (target each <= 50 µs, the two sizes within 2× of each other); (2) p50 of one `evaluate(…, "decide")` over RPC into the real, prebuilt
// risk worker in Miniflare (stub audit/governance), next to a bare RPC hop measured in the same run.
// Run: `node scripts/bench/risk.mjs` (needs workers/risk/dist: `pnpm build` or the worker's own build).
import { performance } from "node:perf_hooks";
import { auxWorker } from "@paulp/testing";
import { tsImport } from "tsx/esm/api";
import { governanceStub, scriptWorker, size, withMesh } from "./_harness.mjs";

const POSITIONS = size(1_000, 100);
const NOW = Date.now();

// ---- (1) in-process ---------------------------------------------------------------------------------
// The pure rules through the package's export (TypeScript source, loaded through tsx), as the risk worker takes them.
const rules = await tsImport("@paulp/risk-rules", import.meta.url);

/** A portfolio of `n` long positions, one a market, in 10 categories and 100 correlation groups. */
function book(n) {
  const state = rules.emptyPortfolio(100_000 * 1_000_000);
  const groups = {};
  for (let i = 0; i < n; i++) {
    const market = `MKT-${i}`;
    rules.applyMark(state, {
      venue: "kalshi",
      market,
      price: "0.50",
      category: `cat-${i % 10}`,
      evidenceHash: "a".repeat(64),
      observedAt: new Date(NOW - 1000).toISOString(),
    });
    rules.applyFill(state, {
      fillId: `f${i}`,
      strategyId: `s${i % 5}`,
      venue: "kalshi",
      market,
      side: "buy",
      quantity: 10,
      price: "0.50",
      fee: "0",
      clientOrderId: `c${i}`,
      ts: new Date(NOW).toISOString(),
    });
    const group = `g${i % 100}`;
    groups[group] = [...(groups[group] ?? []), `kalshi:${market}`];
  }
  rules.updateWatermarks(state, rules.valuation(state).equity, NOW);
  const limits = rules.parseLimits({ ...rules.DEFAULT_LIMITS, correlationGroups: groups }, 1);
  return { state, limits };
}

/** Median of `runs` timings of `fn` run `reps` times each, in µs per call. */
function medianUs(runs, reps, fn) {
  const per = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn(i);
    per.push(((performance.now() - t) * 1000) / reps);
  }
  return per.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

/** Evaluations/s, the cost of rebuilding the view, and of updating it for one changed mark and one fill. */
function measure(n) {
  const { state, limits } = book(n);
  // Built as the governor builds it: with a running total per correlated set of the limits' groups.
  const buildViewUs = medianUs(3, size(Math.max(5, 200_000 / n), 2), () =>
    rules.buildView(state, [], limits.correlation),
  );
  const view = rules.buildView(state, [], limits.correlation);
  const intents = Array.from({ length: 1024 }, (_, i) => ({
    strategyId: `s${((i * 7) % n) % 5}`, // the strategy that holds that market: a real "increase"
    venue: "kalshi",
    market: `MKT-${(i * 7) % n}`,
    side: "buy",
    effect: "increase",
    quantity: 5,
    limitPrice: "0.50",
    clientOrderId: `bench-${i}`,
    evidenceHashes: ["a".repeat(64)],
  }));
  const input = {
    intent: intents[0],
    view,
    limits,
    breakerState: "NORMAL",
    nowMs: NOW,
    approvalsLastMinute: 0,
    clientOrderIdUsed: false,
  };
  let approved = 0;
  for (let i = 0; i < 20_000; i++) {
    input.intent = intents[i & 1023];
    if (rules.evaluateIntent(input).approved) approved++;
  } // warm-up
  // Measure the full path (every check runs to the end), not an early denial.
  if (approved !== 20_000)
    throw new Error(
      `only ${approved}/20000 bench intents approved: the benchmark would measure the wrong path`,
    );
  const N = size(300_000, 2_000);
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    input.intent = intents[i & 1023];
    rules.evaluateIntent(input);
  }
  const perSecond = Math.round(N / ((performance.now() - t) / 1000));

  // One changed mark of a held market (its price moves, its time advances), through the pure functions the
  // Durable Object calls; the view must stay in place (never rebuilt).
  const REPS = size(20_000, 200);
  let clock = NOW;
  const markUs = medianUs(5, REPS, (i) => {
    clock += 1;
    const e = rules.applyMarksEverywhere(state, {}, view, [
      {
        venue: "kalshi",
        market: `MKT-${(i * 7919) % n}`,
        price: i % 2 === 0 ? "0.51" : "0.49",
        category: `cat-${((i * 7919) % n) % 10}`,
        evidenceHash: "a".repeat(64),
        observedAt: new Date(clock).toISOString(),
      },
    ]);
    if (e.view !== view)
      throw new Error("a mark rebuilt the view: the benchmark would measure the wrong path");
  });
  // One fill of a held position (buy then sell the same contracts, so the book keeps its size).
  let fillSeq = 0;
  const fillUs = medianUs(5, REPS, (i) => {
    const e = rules.applyFillEverywhere(
      state,
      {},
      view,
      {
        fillId: `bench-${fillSeq++}`,
        strategyId: `s${(((i >> 1) * 7919) % n) % 5}`,
        venue: "kalshi",
        market: `MKT-${((i >> 1) * 7919) % n}`,
        side: i % 2 === 0 ? "buy" : "sell",
        quantity: 1,
        price: "0.50",
        fee: "0",
        clientOrderId: "bench",
        ts: new Date(NOW).toISOString(),
      },
      NOW,
    );
    if (!e.applied || e.view !== view)
      throw new Error("a fill rebuilt the view: the benchmark would measure the wrong path");
  });
  // Still exactly the rebuilt view after all those updates.
  const rebuilt = rules.buildView(state, [], limits.correlation);
  if (
    view.equity !== rebuilt.equity ||
    view.oldestHeldMarkMs !== rebuilt.oldestHeldMarkMs ||
    view.groupExposure.some((total, g) => total !== rebuilt.groupExposure[g])
  )
    throw new Error("the updated view drifted from the rebuilt one");
  return { perSecond, buildViewUs, markUs, fillUs };
}

const sizes = [POSITIONS, size(10_000, 1_000)];
const results = sizes.map(measure);
for (const [k, n] of sizes.entries()) {
  const { perSecond, buildViewUs, markUs, fillUs } = results[k];
  console.log(
    `in-process: ${perSecond.toLocaleString("en-US")} evaluations/s with ${n.toLocaleString("en-US")} open positions, 100 correlation groups (target >= 100,000/s) ${perSecond >= 100_000 ? "OK" : "BELOW TARGET"}`,
  );
  console.log(
    `in-process: ${n.toLocaleString("en-US")} positions: one changed mark ${markUs.toFixed(2)} µs, one fill ${fillUs.toFixed(2)} µs (target each <= 50 µs) ${markUs <= 50 && fillUs <= 50 ? "OK" : "ABOVE TARGET"}; a full rebuild of the view (what each cost before) ${buildViewUs.toFixed(0)} µs`,
  );
}
const [small, large] = results;
const markRatio = large.markUs / small.markUs;
const fillRatio = large.fillUs / small.fillUs;
console.log(
  `in-process: ${sizes[1].toLocaleString("en-US")} / ${sizes[0].toLocaleString("en-US")} positions: mark ×${markRatio.toFixed(2)}, fill ×${fillRatio.toFixed(2)} (target within ×2) ${markRatio <= 2 && fillRatio <= 2 ? "OK" : "ABOVE TARGET"}`,
);

// ---- (2) over RPC ---------------------------------------------------------------------------------
const auditStub = `
import { WorkerEntrypoint } from "cloudflare:workers";
let seq = 0;
export default class extends WorkerEntrypoint {
  async health() { return { service: "audit", ok: true, checks: [] }; }
  async append() { return { ok: true, value: { seq: ++seq, hash: "0".repeat(64) } }; }
}`;
const echo = `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  async echo(x) { return { ok: true, value: x }; }
}`;
// The driver times calls inside workerd, so HTTP from Node is not measured. workerd's clock has millisecond
// granularity (and advances only across I/O), so each sample is the mean of a batch of BATCH sequential calls;
// the figure is the median of those samples.
const driver = `
const actor = { method: "system", subject: "bench" };
const BATCH = 50;
function p50(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/setup") {
      const marks = [];
      for (let i = 0; i < ${POSITIONS}; i++) marks.push({ venue: "kalshi", market: "MKT-" + i, price: "0.50", category: "cat-" + (i % 10), evidenceHash: "a".repeat(64), observedAt: new Date().toISOString() });
      const m = await env.RISK.recordMarks(marks);
      if (!m.ok) return Response.json(m, { status: 500 });
      for (let i = 0; i < ${POSITIONS}; i++) {
        const f = await env.RISK.recordFills([{ fillId: "f" + i, strategyId: "s" + (i % 5), venue: "kalshi", market: "MKT-" + i, side: "buy", quantity: 10, price: "0.50", fee: "0", clientOrderId: "c" + i, ts: new Date().toISOString() }]);
        if (!f.ok || f.value.fills[0].error) return Response.json(f, { status: 500 });
      }
      const current = await env.RISK.getLimits();
      const lifted = { ...current.value.limits, maxOrdersPerMinute: 1000000 };
      const u = await env.RISK.updateLimits(lifted, { method: "token", subject: "admin-token" }, { requestId: "bench", receiptToken: "bench" });
      if (!u.ok) return Response.json(u, { status: 500 });
      return Response.json({ ok: true });
    }
    const n = Number(url.searchParams.get("n") ?? "300");
    const evalMs = [], hopMs = [];
    let approved = 0;
    const denials = {};
    const intentOf = (i) => ({ strategyId: "s" + (((i * 7) % ${POSITIONS}) % 5), venue: "kalshi", market: "MKT-" + ((i * 7) % ${POSITIONS}), side: "buy", effect: "increase", quantity: 1, limitPrice: "0.50", clientOrderId: "rpc-" + url.searchParams.get("run") + "-" + i, evidenceHashes: ["a".repeat(64)] });
    for (let b = 0; b < n / BATCH; b++) {
      let t = performance.now();
      for (let k = 0; k < BATCH; k++) await env.ECHO.echo(intentOf(b * BATCH + k));
      hopMs.push((performance.now() - t) / BATCH);
      t = performance.now();
      for (let k = 0; k < BATCH; k++) {
        const r = await env.RISK.evaluate(intentOf(b * BATCH + k), actor, "decide");
        if (!r.ok) return Response.json(r, { status: 500 });
        if (r.value.approved) approved++;
        else for (const x of r.value.reasons) denials[x.code] = (denials[x.code] ?? 0) + 1;
      }
      evalMs.push((performance.now() - t) / BATCH);
    }
    return Response.json({ evalP50: p50(evalMs), hopP50: p50(hopMs), approved, denials, n });
  },
};`;

const workers = [
  scriptWorker("driver", driver, { serviceBindings: { RISK: "paulp-risk", ECHO: "echo" } }),
  auxWorker("risk"),
  scriptWorker("paulp-audit", auditStub),
  scriptWorker("paulp-governance", governanceStub()),
  scriptWorker("echo", echo),
];
await withMesh(workers, async ({ mf, json }) => {
  const setup = await mf.dispatchFetch("http://bench/setup");
  if (setup.status !== 200) throw new Error(`setup failed: ${await setup.text()}`);
  await json(`/run?n=${size(50, 10)}&run=warm`);
  const r = await json(`/run?n=${size(1000, 50)}&run=main`);
  console.log(
    `over RPC: evaluate(decide) p50 ${r.evalP50.toFixed(2)} ms per call (median of batch means, batches of 50) (driver → risk → RiskGovernor + CircuitBreaker DOs → audit stub; ${r.approved}/${r.n} approved, ${POSITIONS} positions)${r.approved < r.n ? ` denials: ${JSON.stringify(r.denials)}` : ""}`,
  );
  console.log(`over RPC: bare RPC hop p50 ${r.hopP50.toFixed(2)} ms (driver → echo, same run)`);
});
