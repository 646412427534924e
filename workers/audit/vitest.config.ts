import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { workerMigrations } from "@paulp/testing";
import { defineConfig } from "vitest/config";

// The audit worker under test with its real bindings (sequencer DO, D1_ANCHOR, R2_AUDIT) from
// wrangler.jsonc; D1 is migrated in test/setup.ts. Storage is isolated per test file.
export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: { bindings: { TEST_MIGRATIONS: await workerMigrations("audit") } },
    }),
  ],
  test: { testTimeout: 60_000, setupFiles: ["./test/setup.ts"] },
}));
