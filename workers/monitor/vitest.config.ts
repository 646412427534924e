import { generateKeyPairSync, randomUUID } from "node:crypto";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { auxWorker, workerMigrations } from "@paulp/testing";
import { defineConfig } from "vitest/config";
import { generateAuditKey } from "../../scripts/audit-keygen.mjs";

// The monitor runs as the main worker; every worker it reads is the real, prebuilt one, so each alert is raised
// and cleared by its real cause (a breaker transition, denials, a broken chain, a stale anchor, drift at the
// venue, failing venue calls). Execution holds a Kalshi key (generated per run, never written to disk) whose
// public half the simulator trusts, so reconciliation reads the simulated Kalshi account.
// The pool cannot migrate an auxiliary worker's D1, so the runner binds the same database ids and migrates them
// in test/setup.ts.
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const keyId = randomUUID();
// The audit worker signs its anchors (a key generated for each run, like the gateway's tests).
const auditKey = generateAuditKey();

export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        bindings: {
          MIGRATIONS_ANCHOR: await workerMigrations("audit"),
          MIGRATIONS_GOVERNANCE: await workerMigrations("governance"),
          MIGRATIONS_MARKETS: await workerMigrations("ingestion"),
        },
        d1Databases: {
          TEST_D1_ANCHOR: "local-paulp-anchor",
          TEST_D1_GOVERNANCE: "local-paulp-governance",
          TEST_D1_MARKETS: "local-paulp-markets",
        },
        serviceBindings: { VENUE_SIM: "paulp-venue-sim" },
        workers: [
          auxWorker("audit", { bindings: { AUDIT_SIGNING_KEY: auditKey.signerKey } }),
          auxWorker("governance"),
          auxWorker("risk"),
          auxWorker("ingestion"),
          auxWorker("execution", {
            bindings: {
              KALSHI_API_KEY: keyId,
              KALSHI_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
            },
          }),
          auxWorker("venue-sim", {
            bindings: {
              SIM_KALSHI_PUBLIC_KEYS: `${keyId}:${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`,
            },
          }),
        ],
      },
    }),
  ],
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ["./test/setup.ts"],
  },
}));
