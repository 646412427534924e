import { randomBytes } from "node:crypto";
import { auxWorker, double, workerMigrations, workerTests } from "@paulp/testing";

// Governance runs as the test's main worker (its Durable Object and D1 live here); the venue simulator
// is the real prebuilt worker. AUDIT is the typed audit double of @paulp/testing: it records appends and can be
// told to fail or to answer slowly (to widen race windows), or to report an integrity other than ok, so the
// fail-closed paths are testable; the real audit worker is exercised through the gateway's tests.
export default workerTests({
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
    workers: [double("audit"), auxWorker("venue-sim")],
  },
  // One file at a time: the audit double's record is shared by every file, and tests assert on it exactly.
  test: { testTimeout: 20_000, setupFiles: ["./test/setup.ts"], fileParallelism: false },
});
