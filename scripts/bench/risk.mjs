// Risk benchmark: (1) evaluations per second of the pure pre-trade check, in-process, against a portfolio of
// 1,000 open positions (target >= 100,000/s); (2) p50 of one `evaluateOrder` over RPC into the real, prebuilt
// risk worker in Miniflare (stub audit/governance), next to a bare RPC hop measured in the same run.
// Run: `node scripts/bench/risk.mjs` (needs workers/risk/dist: `pnpm build` or the worker's own build).
import path from "node:path";
import { performance } from "node:perf_hooks";
import { auxWorker, REPO_ROOT } from "@paulp/testing";
import { tsImport } from "tsx/esm/api";
import { governanceStub, scriptWorker, size, withMesh } from "./_harness.mjs";

const POSITIONS = size(1_000, 100);
const NOW = Date.now();
const src = (f) => path.join(REPO_ROOT, "workers/risk/src", f);

// ---- (1) in-process ---------------------------------------------------------------------------------
const ev = await tsImport(src("evaluate.ts"), import.meta.url);
const pf = await tsImport(src("portfolio.ts"), import.meta.url);
const lm = await tsImport(src("limits.ts"), import.meta.url);

const state = pf.emptyPortfolio(100_000 * 10_000);
const groups = {};
for (let i = 0; i < POSITIONS; i++) {
  const market = `MKT-${i}`;
  pf.applyMark(state, {
    venue: "kalshi",
    market,
    price: "0.50",
    category: `cat-${i % 10}`,
    evidenceHash: "a".repeat(64),
    observedAt: new Date(NOW - 1000).toISOString(),
  });
  pf.applyFill(state, {
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
pf.updateWatermarks(state, pf.valuation(state).equity, NOW);
const limits = ev.parseLimits({ ...lm.DEFAULT_LIMITS, correlationGroups: groups }, 1);

let t = performance.now();
const VIEW_ROUNDS = size(200, 5);
let view;
for (let i = 0; i < VIEW_ROUNDS; i++) view = ev.buildView(state, []);
const buildViewUs = ((performance.now() - t) * 1000) / VIEW_ROUNDS;

const intents = Array.from({ length: 1024 }, (_, i) => ({
  strategyId: `s${((i * 7) % POSITIONS) % 5}`, // the strategy that holds that market: a real "increase"
  venue: "kalshi",
  market: `MKT-${(i * 7) % POSITIONS}`,
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
  if (ev.evaluateIntent(input).approved) approved++;
} // warm-up
// Measure the full path (every check runs to the end), not an early denial.
if (approved !== 20_000)
  throw new Error(
    `only ${approved}/20000 bench intents approved: the benchmark would measure the wrong path`,
  );
const N = size(300_000, 2_000);
t = performance.now();
for (let i = 0; i < N; i++) {
  input.intent = intents[i & 1023];
  ev.evaluateIntent(input);
}
const perSecond = Math.round(N / ((performance.now() - t) / 1000));

console.log(
  `in-process: ${perSecond.toLocaleString("en-US")} evaluations/s with ${POSITIONS} open positions (target >= 100,000/s) ${perSecond >= 100_000 ? "OK" : "BELOW TARGET"}`,
);
console.log(
  `in-process: rebuilding the view after a change (fill/marks) takes ${buildViewUs.toFixed(0)} µs for ${POSITIONS} positions`,
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
        const f = await env.RISK.recordFill({ fillId: "f" + i, strategyId: "s" + (i % 5), venue: "kalshi", market: "MKT-" + i, side: "buy", quantity: 10, price: "0.50", fee: "0", clientOrderId: "c" + i, ts: new Date().toISOString() });
        if (!f.ok) return Response.json(f, { status: 500 });
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
        const r = await env.RISK.evaluateOrder(intentOf(b * BATCH + k), actor);
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
    `over RPC: evaluateOrder p50 ${r.evalP50.toFixed(2)} ms per call (median of batch means, batches of 50) (driver → risk → RiskGovernor + CircuitBreaker DOs → audit stub; ${r.approved}/${r.n} approved, ${POSITIONS} positions)${r.approved < r.n ? ` denials: ${JSON.stringify(r.denials)}` : ""}`,
  );
  console.log(`over RPC: bare RPC hop p50 ${r.hopP50.toFixed(2)} ms (driver → echo, same run)`);
});
