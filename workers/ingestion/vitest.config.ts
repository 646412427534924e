import { generateKeyPairSync } from "node:crypto";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { auxWorker, workerMigrations } from "@paulp/testing";
import { defineConfig } from "vitest/config";

// The ingestion worker runs as the test's main worker against the real prebuilt venue simulator. AUDIT,
// RISK and GOVERNANCE are recording stubs so tests can read what was sent and make each peer fail; the
// gateway's integration tests exercise the real audit, risk and governance workers.
const recorder = (methods: Record<string, string>) => `
import { WorkerEntrypoint } from "cloudflare:workers";
const state = { calls: [], failing: false };
export default class Stub extends WorkerEntrypoint {
  async __calls() { return state.calls; }
  async __reset() { state.calls = []; state.failing = false; }
  async __fail(on) { state.failing = on; }
  ${Object.entries(methods)
    .map(
      ([name, result]) => `async ${name}(...args) {
    state.calls.push({ method: "${name}", args });
    if (state.failing) return { ok: false, error: { code: "service_unavailable", message: "stub failing" } };
    return { ok: true, value: ${result} };
  }`,
    )
    .join("\n  ")}
  async health() { return { service: "stub", ok: true, checks: [] }; }
}`;

// Ingestion's own read-only Kalshi key, generated per run: the simulator trusts its public half with the
// `read` scope only (so a test can show it cannot trade), the way `pnpm dev` sets it up.
const readKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
const READ_KEY_ID = "ingestion-read-test";
const readPublic = `${READ_KEY_ID}:${readKey.publicKey.export({ type: "spki", format: "der" }).toString("base64")}:read`;

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await workerMigrations("ingestion"),
          KALSHI_READ_API_KEY: READ_KEY_ID,
          KALSHI_READ_PRIVATE_KEY: readKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
          TEST_KALSHI_READ_PUBLIC_KEY: readKey.publicKey.export({ type: "spki", format: "pem" }).toString(),
        },
        workers: [
          {
            name: "paulp-audit",
            modules: true,
            compatibilityDate: "2026-04-20",
            script: recorder({
              append: "{ seq: state.calls.length, hash: '0'.repeat(64) }",
              appendMany: "args[0].map((_, i) => ({ seq: state.calls.length + i, hash: '0'.repeat(64) }))",
            }),
          },
          {
            name: "paulp-risk",
            modules: true,
            compatibilityDate: "2026-04-20",
            script: recorder({
              recordMarks: "{ applied: args[0].length }",
              getLimits:
                "{ version: 1, limits: { maxMarkAgeSeconds: 120 }, updatedAt: '', updatedBy: 'test' }",
              reportFailure:
                "{ state: 'NORMAL', version: 1, since: '', reason: '', consecutiveFailures: {}, thresholds: {} }",
              reportSuccess:
                "{ state: 'NORMAL', version: 1, since: '', reason: '', consecutiveFailures: {}, thresholds: {} }",
            }),
          },
          {
            name: "paulp-governance",
            modules: true,
            compatibilityDate: "2026-04-20",
            script: recorder({ proposePairs: "{ created: args[0].length, lapsed: 0 }" }),
          },
          auxWorker("venue-sim", { bindings: { SIM_KALSHI_PUBLIC_KEYS: readPublic } }),
        ],
      },
    }),
  ],
  test: { setupFiles: ["./test/setup.ts"], testTimeout: 60_000, hookTimeout: 60_000 },
});
