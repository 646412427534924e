import { randomBytes } from "node:crypto";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { auxWorker } from "@paulp/testing";
import { defineConfig } from "vitest/config";

// Integration: the gateway runs as the test's main worker; every other worker is the real, prebuilt one,
// reached through the gateway's real service bindings. The admin token is generated per run.
export default defineConfig({
  plugins: [
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        bindings: {
          ADMIN_TOKEN: randomBytes(32).toString("base64url"),
          ACCESS_TEAM_DOMAIN: "paulp-test.cloudflareaccess.com",
          ACCESS_AUD: "paulp-test-aud",
        },
        workers: [
          auxWorker("audit"),
          auxWorker("governance"),
          auxWorker("risk"),
          auxWorker("ingestion"),
          auxWorker("execution"),
          auxWorker("venue-sim"),
        ],
      },
    }),
  ],
  test: { testTimeout: 20_000 },
});
