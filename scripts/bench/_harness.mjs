// What the benchmarks share: the smoke sizes, one compatibility date, workers from module scripts, the real audit
// worker with a fresh signing key, the stub desk, and a mesh that migrates the real audit worker's D1, answers the driver's
// JSON and is always disposed. (Files starting with `_` are not benchmarks: scripts/bench.mjs skips them.)
import { auxWorker, workerMigrations } from "@paulp/testing";
import { Miniflare } from "miniflare";
import { generateAuditKey } from "../audit-keygen.mjs";

export { SMOKE, size } from "./_smoke.mjs";

/** The compatibility date every bench worker runs at (the workers' own). */
export const compatibilityDate = "2026-04-20";

/** A worker from a module script: a driver, a stub, a floor. */
export function scriptWorker(name, script, options = {}) {
  return { name, modules: true, script, compatibilityDate, ...options };
}

/** The real audit workers made here (a stub may take the same name): only theirs have a D1 to migrate. */
const realAudits = new WeakSet();

/** The real prebuilt audit worker, with an anchor signing key fresh for each run (never stored). */
export function auditWorker() {
  const worker = auxWorker("audit", { bindings: { AUDIT_SIGNING_KEY: generateAuditKey().signerKey } });
  realAudits.add(worker);
  return worker;
}

/**
 * A governance stub whose desk approves any receipt, so a bench can lift risk's submit-rate limit and measure
 * approvals; `methods` adds what else the bench's workers call.
 */
export function governanceStub(methods = "") {
  return `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  async health() { return { service: "governance", ok: true, checks: [] }; }
  async redeemReceipt(receipt, action) {
    return { ok: true, value: { requestId: receipt.requestId, action, payloadHash: "0".repeat(64), policyVersion: 1, approvers: ["a", "b"], requestedBy: "a" } };
  }
${methods}
}`;
}

/**
 * Start the mesh, migrate the real audit worker's D1 when it is in it (the pool cannot migrate an auxiliary worker's
 * D1; here we can, directly), run `body(mesh)`, and dispose of the mesh whatever happens. `mesh.json(path)` is the
 * driver's JSON answer at `path`; any other status than 200 throws naming the path.
 */
export async function withMesh(workers, body, options = {}) {
  const mf = new Miniflare({ workers, ...options });
  try {
    await mf.ready;
    if (workers.some((w) => realAudits.has(w))) {
      const anchor = await mf.getD1Database("D1_ANCHOR", "paulp-audit");
      for (const m of await workerMigrations("audit"))
        for (const sql of m.queries) await anchor.prepare(sql).run();
    }
    const json = async (path) => {
      const res = await mf.dispatchFetch(`http://bench${path}`);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
      return JSON.parse(text);
    };
    return await body({ mf, json });
  } finally {
    await mf.dispose();
  }
}
