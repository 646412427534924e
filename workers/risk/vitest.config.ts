import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The risk worker runs as the test's main worker with its own Durable Objects. AUDIT and GOVERNANCE are
// inline stubs the tests control (record appends, fail on demand, answer receipts), so every fail-closed
// path can be driven. Files run one at a time because the stubs keep their state in module globals.
const auditStub = `
import { WorkerEntrypoint } from "cloudflare:workers";
let entries = [];
let failing = false;
let delayMs = 0;
let verification = { ok: true, value: { mode: "incremental", ok: true, fromSeq: 0, toSeq: 0, checkedEntries: 0, checkedAnchors: 0, verifiedAt: "1970-01-01T00:00:00.000Z" } };
let verifyCalls = [];
let anchorCalls = [];
const freshStatus = () => ({ ok: true, value: { headSeq: 0, integrity: "ok", alerts: [] } });
let status = freshStatus();
let receiptCheck = null;
let receiptCalls = [];
const hashOf = (seq) => seq.toString(16).padStart(64, "0");
export default class extends WorkerEntrypoint {
  async anchorNow(actor) { anchorCalls.push(actor); return { ok: true, value: null }; }
  async stubAnchorCalls() { return anchorCalls; }
  async verify(options) { verifyCalls.push(options); if (verification === "throw") throw new Error("audit down"); return verification; }
  async stubVerification(value) { verification = value; }
  async stubVerifyCalls() { return verifyCalls; }
  async status() { if (status === "throw") throw new Error("audit down"); return status; }
  async stubStatus(value) { status = value; }
  // Answers from the entries it recorded unless told otherwise: a receipt above them, or with another hash, is lost.
  async checkReceipts(receipts, actor) {
    receiptCalls.push({ receipts, actor });
    if (receiptCheck === "throw") throw new Error("audit down");
    if (receiptCheck) return receiptCheck;
    const broken = receipts
      .filter((r) => r.seq > entries.length || r.hash !== hashOf(r.seq))
      .map((r) => ({ seq: r.seq, hash: r.hash, reason: r.seq > entries.length ? "above_head" : "hash_differs", detail: "entry " + r.seq + " lost" }));
    return { ok: true, value: { ok: broken.length === 0, headSeq: entries.length, checked: receipts.length, held: receipts.length - broken.length, broken, checkedAt: new Date().toISOString() } };
  }
  async stubReceiptCheck(value) { receiptCheck = value; }
  async stubReceiptCalls() { return receiptCalls; }
  async stubTruncate(n) { entries = entries.slice(0, n); }
  async health() { return { service: "audit", ok: true, checks: [] }; }
  async append(event) {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (failing) return { ok: false, error: { code: "audit_unavailable", message: "stub told to fail" } };
    entries.push(event);
    return { ok: true, value: { seq: entries.length, hash: hashOf(entries.length) } };
  }
  async stubEntries() { return entries; }
  async stubFail(value) { failing = value; }
  async stubDelay(ms) { delayMs = ms; }
  async stubReset() {
    entries = []; failing = false; delayMs = 0; verifyCalls = []; anchorCalls = [];
    status = freshStatus(); receiptCheck = null; receiptCalls = [];
    verification = { ok: true, value: { mode: "incremental", ok: true, fromSeq: 0, toSeq: 0, checkedEntries: 0, checkedAnchors: 0, verifiedAt: "1970-01-01T00:00:00.000Z" } };
  }
}`;

const governanceStub = `
import { WorkerEntrypoint } from "cloudflare:workers";
let calls = [];
let returns = [];
let answer = { ok: false, error: { code: "not_found", message: "unknown receipt" } };
export default class extends WorkerEntrypoint {
  async health() { return { service: "governance", ok: true, checks: [] }; }
  async returnReceipt(receipt, reason, actor) {
    returns.push({ receipt, reason, actor });
    return { ok: true, value: { requestId: receipt.requestId, status: "approved" } };
  }
  async stubReturns() { return returns; }
  async redeemReceipt(receipt, action, payload, actor) {
    calls.push({ receipt, action, payload, actor });
    return answer;
  }
  async stubCalls() { return calls; }
  async stubAnswer(value) { answer = value; }
  async stubReset() { calls = []; returns = []; answer = { ok: false, error: { code: "not_found", message: "unknown receipt" } }; }
}`;

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        bindings: { STARTING_EQUITY: "100000.00" },
        workers: [
          { name: "paulp-audit", modules: true, script: auditStub, compatibilityDate: "2026-04-20" },
          {
            name: "paulp-governance",
            modules: true,
            script: governanceStub,
            compatibilityDate: "2026-04-20",
          },
        ],
      },
    }),
  ],
  // Hooks get the tests' bound: a beforeEach's first RPCs also wait for the file's workerd start, which on a
  // loaded 2-core machine took more than vitest's default 10 s (worker-halt-race.test.ts, in a full run).
  test: { testTimeout: 20_000, hookTimeout: 20_000, fileParallelism: false },
});
