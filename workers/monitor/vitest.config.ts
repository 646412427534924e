import { generateKeyPairSync, randomUUID } from "node:crypto";
import { auxWorker, meshDatabases, workerTests } from "@paulp/testing";
import { generateAuditKey } from "../../scripts/audit-keygen.mjs";

// The monitor runs as the main worker; every worker it reads is the real, prebuilt one, so each alert is raised
// and cleared by its real cause (a breaker transition, denials, a broken chain, a stale anchor, drift at the
// venue, failing venue calls). Execution holds a Kalshi key (generated per run, never written to disk) whose
// public half the simulator trusts, so reconciliation reads the simulated Kalshi account.
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const keyId = randomUUID();
// The audit worker signs its anchors (a key generated for each run, like the gateway's tests).
const auditKey = generateAuditKey();

// The databases the real workers share, migrated in test/setup.ts.
const mesh = await meshDatabases();

export default workerTests({
  miniflare: {
    bindings: mesh.bindings,
    d1Databases: mesh.d1Databases,
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
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ["./test/setup.ts"],
  },
});
