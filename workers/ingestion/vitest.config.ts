import { generateKeyPairSync } from "node:crypto";
import { auxWorker, double, workerMigrations, workerTests } from "@paulp/testing";

// The ingestion worker runs as the test's main worker against the real prebuilt venue simulator. AUDIT,
// RISK and GOVERNANCE are the typed recording doubles of @paulp/testing, so tests can read what was sent and make
// each peer fail; the gateway's integration tests exercise the real audit, risk and governance workers.

// Ingestion's own read-only Kalshi key, generated per run: the simulator trusts its public half with the
// `read` scope only (so a test can show it cannot trade), the way `pnpm dev` sets it up.
const readKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
const READ_KEY_ID = "ingestion-read-test";
const readPublic = `${READ_KEY_ID}:${readKey.publicKey.export({ type: "spki", format: "der" }).toString("base64")}:read`;

export default workerTests({
  miniflare: {
    bindings: {
      TEST_MIGRATIONS: await workerMigrations("ingestion"),
      KALSHI_READ_API_KEY: READ_KEY_ID,
      KALSHI_READ_PRIVATE_KEY: readKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      // Two sightings a replay step, so a short replay still takes several alarm steps.
      REPLAY_STEP_SIGHTINGS: "2",
      TEST_KALSHI_READ_PUBLIC_KEY: readKey.publicKey.export({ type: "spki", format: "pem" }).toString(),
    },
    workers: [
      double("audit"),
      double("risk"),
      double("governance"),
      auxWorker("venue-sim", { bindings: { SIM_KALSHI_PUBLIC_KEYS: readPublic } }),
    ],
  },
  test: { setupFiles: ["./test/setup.ts"], testTimeout: 60_000, hookTimeout: 60_000 },
});
