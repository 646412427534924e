import { randomBytes } from "node:crypto";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { auxWorker, workerMigrations } from "@paulp/testing";
import { defineConfig } from "vitest/config";

// Governance runs as the test's main worker (its Durable Object and D1 live here); the venue simulator
// is the real prebuilt worker. AUDIT is an inline double that records appends and can be told to fail or to answer slowly (to widen race windows),
// or to report an integrity other than ok, so the fail-closed paths are testable; the real audit worker is
// exercised through the gateway's tests.
const auditDouble = {
  name: "paulp-audit",
  modules: true,
  compatibilityDate: "2026-04-20",
  script: `
    import { WorkerEntrypoint } from "cloudflare:workers";
    let events = [];
    let failing = false;
    let failingType = null;
    let delayMs = 0;
    let integrity = "ok";
    export default class AuditDouble extends WorkerEntrypoint {
      async append(event) {
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (failing || event.type === failingType) return { ok: false, error: { code: "audit_unavailable", message: "audit double told to fail" } };
        events.push(event);
        // A hash per seq, so a test can tell which receipt a record kept.
        return { ok: true, value: { seq: events.length, hash: events.length.toString(16).padStart(64, "0") } };
      }
      async health() { return { service: "audit", ok: true, checks: [] }; }
      async status() {
        if (integrity === "unreachable") return { ok: false, error: { code: "service_unavailable", message: "D1_ANCHOR unavailable" } };
        return { ok: true, value: { headSeq: events.length, integrity } };
      }
      async __integrity(state) { integrity = state; }
      async __events() { return events; }
      async __reset() { events = []; failing = false; failingType = null; delayMs = 0; integrity = "ok"; }
      async __delay(ms) { delayMs = ms; }
      async __fail(on) { failing = on; }
      async __failType(type) { failingType = type; }
    }
  `,
};

export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        bindings: {
          // A generated key the simulator accepts (its prefix); never a real key.
          ANTHROPIC_API_KEY: `sk-sim-${randomBytes(24).toString("base64url")}`,
          ANTHROPIC_TIMEOUT_MS: "1500",
          // The test people approve every action (the dev roster in wrangler.jsonc names the dev seed's people).
          APPROVER_ROSTER: JSON.stringify({
            "*": ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"],
          }),
          TEST_MIGRATIONS: await workerMigrations("governance"),
        },
        workers: [auditDouble, auxWorker("venue-sim")],
      },
    }),
  ],
  // One file at a time: the audit double's record is shared by every file, and tests assert on it exactly.
  test: { testTimeout: 20_000, setupFiles: ["./test/setup.ts"], fileParallelism: false },
}));
