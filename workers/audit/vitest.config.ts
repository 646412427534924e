import { workerMigrations, workerTests } from "@paulp/testing";
import { generateAuditKey } from "../../scripts/audit-keygen.mjs";

// The anchor signing key is generated for each run, never committed; tests get its public half.
const key = generateAuditKey();

// The audit worker under test with its real bindings (sequencer DO, D1_ANCHOR, R2_AUDIT) from
// wrangler.jsonc; D1 is migrated in test/setup.ts. Storage is isolated per test file.
export default workerTests({
  miniflare: {
    bindings: {
      TEST_MIGRATIONS: await workerMigrations("audit"),
      AUDIT_SIGNING_KEY: key.signerKey,
      TEST_AUDIT_VERIFIER_KEY: key.verifierKey,
    },
  },
  test: { testTimeout: 60_000, setupFiles: ["./test/setup.ts"] },
});
