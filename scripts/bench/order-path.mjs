// Order-path benchmark: p50/p99 and orders/s of the whole order path (`POST /admin/orders`: gateway →
// execution, which persists the intent and asks risk to decide and consume in one call → paper fill → audit), with the time of each stage measured alone, next to the floor measured in the same run: the bare
// hops (one fetch, two RPCs) plus the durable writes the path cannot avoid (risk stores and audits its
// decision; execution stores and audits the intent before acting). Target: p50 <= 2x the floor.
// Real prebuilt gateway, risk, execution and audit (its D1 migrated here); ingestion and governance are stubs
// (a fixed book and an allowing pre-trade check; a receipt-approving desk so the bench can lift risk's
// order-rate limit, and every strategy exists).
// Run: `node scripts/bench/order-path.mjs` (needs each worker's dist: `pnpm build`).
import { randomBytes } from "node:crypto";
import { auxWorker } from "@paulp/testing";
import { auditWorker, governanceStub, scriptWorker, size, withMesh } from "./_harness.mjs";

// Risk checks an order's effect against the filled position, so every order opens its own market (marked in
// setup); by the end of a run risk carries about a thousand open positions.
const MARKETS = size(4_000, 1_000);
const ADMIN_TOKEN = randomBytes(32).toString("base64url");

const ingestionStub = `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  async health() { return { service: "ingestion", ok: true, checks: [] }; }
  async getOrderBook(venue, marketId) {
    return { ok: true, value: { venue, marketId, bids: [{ price: "0.4900", size: "1000000" }], asks: [{ price: "0.5000", size: "1000000" }], evidenceHash: "a".repeat(64), fetchedAt: new Date().toISOString(), ageSeconds: 1 } };
  }
  async getEvidence() { return { ok: false, error: { code: "not_found", message: "bench" } }; }
  async preTradeCheck() { return { ok: true, value: { compliance: { verdict: "allow" }, rulesVersion: 1, missingEvidence: [] } }; }
}`;
const governance = governanceStub(`
  async tradablePairs() { return { ok: true, value: [] }; }
  async activeStrategies() { return { ok: true, value: [] }; }
  async getStrategy(id) { return { ok: true, value: { id, name: id, kind: "bench", state: "paper", allocation: "1000", venues: ["kalshi"], params: {} } }; }`);
const echo = `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  async echo(x) { return { ok: true, value: x }; }
  async fetch(request) { return new Response(await request.text(), { status: 201 }); }
}`;
// The floor: the same topology with nothing but the unavoidable work: fetch → RPC into a DO that stores and
// audits a decision → RPC into a DO that stores and audits the intent.
const floor = `
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
// As kit's rpc() does with a peer's answer before passing it on: the call released, the answer a plain copy.
const released = (r) => { r[Symbol.dispose]?.(); return { ...r }; };
export class FloorRisk extends DurableObject {
  constructor(ctx, env) { super(ctx, env); ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS d (id TEXT PRIMARY KEY, v TEXT)"); }
  async decide(intent) {
    this.ctx.storage.sql.exec("INSERT INTO d VALUES (?, ?)", intent.clientOrderId, JSON.stringify(intent));
    return released(await this.env.AUDIT.append({ type: "floor.decision", service: "risk", actor: { method: "system", subject: "bench" }, payload: intent }));
  }
}
export class FloorExec extends DurableObject {
  constructor(ctx, env) { super(ctx, env); ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS o (id TEXT PRIMARY KEY, v TEXT)"); }
  async submit(intent) {
    this.ctx.storage.sql.exec("INSERT INTO o VALUES (?, ?)", intent.clientOrderId, JSON.stringify(intent));
    return released(await this.env.AUDIT.append({ type: "floor.order", service: "execution", actor: { method: "system", subject: "bench" }, payload: intent }));
  }
}
export default class extends WorkerEntrypoint {
  async fetch(request) {
    const intent = await request.json();
    const d = await this.env.FR.get(this.env.FR.idFromName("r")).decide(intent);
    if (!d.ok) return Response.json(d, { status: 500 });
    const o = await this.env.FE.get(this.env.FE.idFromName("o")).submit(intent);
    return Response.json(o, { status: o.ok ? 201 : 500 });
  }
}`;

// Timed inside workerd (its clock advances only across I/O, with ms granularity): each sample is the mean of a
// batch of BATCH sequential calls; p50/p99 are over those samples.
const driver = `
const actor = { method: "system", subject: "bench" };
const BATCH = 10;
const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
let nextMarket = 0;
const intentOf = (run, i) => ({ strategyId: "bench", venue: "kalshi", market: "MKT-" + (nextMarket++ % ${MARKETS}), side: "buy", effect: "open", quantity: 1, limitPrice: "0.5000", clientOrderId: ("b-" + run + "-" + i).slice(0, 64), evidenceHashes: ["a".repeat(64)] });
async function timed(n, fn) {
  const xs = [];
  for (let b = 0; b < n / BATCH; b++) {
    const t = performance.now();
    for (let k = 0; k < BATCH; k++) await fn(b * BATCH + k);
    xs.push((performance.now() - t) / BATCH);
  }
  return { p50: q(xs, 0.5), p99: q(xs, 0.99) };
}
function must(r, what) { if (!r || !r.ok) throw new Error(what + ": " + JSON.stringify(r && r.error)); return r.value; }
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/setup") {
        const marks = [];
        for (let i = 0; i < ${MARKETS}; i++) marks.push({ venue: "kalshi", market: "MKT-" + i, price: "0.5000", category: "cat-" + (i % 10), evidenceHash: "a".repeat(64), observedAt: new Date().toISOString() });
        for (let i = 0; i < marks.length; i += 500) must(await env.RISK.recordMarks(marks.slice(i, i + 500)), "recordMarks");
        const current = must(await env.RISK.getLimits(), "getLimits");
        must(await env.RISK.updateLimits({ ...current.limits, maxOrdersPerMinute: 1000000 }, { method: "token", subject: "admin-token" }, { requestId: "bench", receiptToken: "bench" }), "updateLimits");
        const probe = must(await env.RISK.evaluate(intentOf("probe", 0), actor, "decide"), "evaluate(decide)");
        if (!probe.approved) throw new Error("risk denies the bench intent: " + JSON.stringify(probe.reasons));
        return Response.json({ ok: true });
      }
      const run = url.searchParams.get("run");
      const n = Number(url.searchParams.get("n") ?? "200");
      const headers = { authorization: "Bearer " + env.ADMIN_TOKEN, "content-type": "application/json" };
      const post = (target, i, tag) => target.fetch("https://gw.bench/admin/orders", { method: "POST", headers, body: JSON.stringify(intentOf(run + tag, i)) });
      let failures = 0;
      const full = await timed(n, async (i) => { const r = await post(env.GATEWAY, i, "f"); if (r.status !== 201) { failures++; if (failures === 1) console.error("order failed", r.status, await r.text()); } else await r.arrayBuffer(); });
      const floor = await timed(n, async (i) => { const r = await post(env.FLOOR, i, "fl"); if (r.status !== 201) throw new Error("floor failed " + (await r.text())); await r.arrayBuffer(); });
      const hop = await timed(n, (i) => env.ECHO.echo(intentOf(run, i)));
      const fetchHop = await timed(n, async (i) => (await post(env.ECHO, i, "e")).arrayBuffer());
      const riskStage = await timed(n, async (i) => must(await env.RISK.evaluate(intentOf(run + "r", i), actor, "decide_and_consume"), "evaluate(decide_and_consume)"));
      const placeStage = await timed(n, async (i) => must(await env.EXECUTION.placeOrder(intentOf(run + "p", i), actor), "placeOrder"));
      const decided = [];
      for (let i = 0; i < n; i++) {
        const intent = intentOf(run + "x", i);
        const d = must(await env.RISK.evaluate(intent, actor, "decide"), "evaluate(decide)");
        if (!d.approved) throw new Error("risk denied a bench intent: " + JSON.stringify(d.reasons));
        decided.push([intent, d.decisionId]);
      }
      const execStage = await timed(n, async (i) => must(await env.EXECUTION.submitOrder(decided[i][0], decided[i][1], actor), "submitOrder"));
      const gatewayStage = await timed(n, async () => (await env.GATEWAY.fetch("https://gw.bench/admin/whoami", { headers })).arrayBuffer());
      const breakerStage = await timed(n, async () => must(await env.RISK.getBreaker(), "getBreaker"));
      const fillStage = await timed(n, async (i) => must(await env.RISK.recordFills([{ fillId: run + "-fill-" + i, strategyId: "bench", venue: "kalshi", market: decided[i][0].market, side: "buy", quantity: 1, price: "0.5000", fee: "0.0000", clientOrderId: decided[i][0].clientOrderId + "z", ts: new Date().toISOString() }]), "recordFills"));
      const auditStage = await timed(n, async (i) => must(await env.AUDIT.append({ type: "bench.append", service: "gateway", actor, payload: { i } }), "append"));
      // Throughput with 8 orders in flight.
      const CONC = 8, TOTAL = n;
      const t0 = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: CONC }, async () => { while (next < TOTAL) { const i = next++; const r = await post(env.GATEWAY, i, "c"); if (r.status !== 201) failures++; else await r.arrayBuffer(); } }));
      const ordersPerSecond = TOTAL / ((performance.now() - t0) / 1000);
      return Response.json({ full, floor, hop, fetchHop, riskStage, execStage, auditStage, gatewayStage, breakerStage, fillStage, ordersPerSecond, failures, n, placeStage });
    } catch (e) {
      return Response.json({ error: String(e && e.stack || e) }, { status: 500 });
    }
  },
};`;

const workers = [
  scriptWorker("driver", driver, {
    bindings: { ADMIN_TOKEN },
    serviceBindings: {
      GATEWAY: "paulp-gateway",
      RISK: "paulp-risk",
      EXECUTION: "paulp-execution",
      AUDIT: "paulp-audit",
      ECHO: "echo",
      FLOOR: "floor",
    },
  }),
  auxWorker("gateway", { bindings: { ADMIN_TOKEN, ACCESS_TEAM_DOMAIN: "", ACCESS_AUD: "" } }),
  auxWorker("risk"),
  auxWorker("execution", {
    bindings: { KALSHI_API_KEY: "", KALSHI_PRIVATE_KEY: "" },
  }),
  auditWorker(),
  auxWorker("venue-sim"),
  scriptWorker("paulp-ingestion", ingestionStub),
  scriptWorker("paulp-governance", governance),
  // The real monitor: the order path never calls it, but the gateway's admin audit outbox reports its backlog to it
  // after each delivery.
  auxWorker("monitor"),
  scriptWorker("echo", echo),
  scriptWorker("floor", floor, {
    durableObjects: {
      FR: { className: "FloorRisk", useSQLite: true },
      FE: { className: "FloorExec", useSQLite: true },
    },
    serviceBindings: { AUDIT: "paulp-audit" },
  }),
];

await withMesh(workers, async ({ mf, json }) => {
  const setup = await mf.dispatchFetch("http://bench/setup");
  if (setup.status !== 200) throw new Error(`setup failed: ${await setup.text()}`);
  await json(`/run?n=${size(30, 10)}&run=warm`);
  const r = await json(`/run?n=${size(200, 20)}&run=main`);
  const f = (x) => `${x.toFixed(2)} ms`;
  console.log(
    `order path (gateway → execution ⇄ risk → paper fill → audit): p50 ${f(r.full.p50)}, p99 ${f(r.full.p99)} per order (median/p99 of batch means, batches of 10, ${r.n} orders, ${r.failures} failed)`,
  );
  console.log(`throughput: ${r.ordersPerSecond.toFixed(0)} orders/s with 8 in flight`);
  console.log("stages measured alone, same run:");
  console.log(
    `  gateway alone (auth + admin-request audit, GET /admin/whoami): p50 ${f(r.gatewayStage.p50)}`,
  );
  console.log(`  execution.placeOrder paper (risk decides, audit, fill): p50 ${f(r.placeStage.p50)}`);
  console.log(`  risk.evaluate(decide_and_consume) (stored + audited): p50 ${f(r.riskStage.p50)}`);
  console.log(`  execution.submitOrder paper, decision made beforehand: p50 ${f(r.execStage.p50)}`);
  console.log(`  risk.getBreaker:                                       p50 ${f(r.breakerStage.p50)}`);
  console.log(`  risk.recordFills([fill]):                              p50 ${f(r.fillStage.p50)}`);
  console.log(`  audit.append:                                          p50 ${f(r.auditStage.p50)}`);
  console.log(`  bare RPC hop: p50 ${f(r.hop.p50)}; bare fetch hop: p50 ${f(r.fetchHop.p50)}`);
  console.log(
    `floor (fetch + 2 RPC hops + 2 DO writes + 2 audit appends): p50 ${f(r.floor.p50)}, p99 ${f(r.floor.p99)}`,
  );
  const ratio = r.full.p50 / Math.max(r.floor.p50, 0.001);
  console.log(
    `ratio p50 path / floor: ${ratio.toFixed(2)}x (target <= 2x) ${ratio <= 2 ? "OK" : "ABOVE TARGET"}`,
  );
});
