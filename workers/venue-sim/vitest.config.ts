import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The simulator's own tests: requests go to `exports.default.fetch` with the real venues' URLs.
export default defineConfig({
  plugins: [cloudflareTest({ main: "./src/index.ts", wrangler: { configPath: "./wrangler.jsonc" } })],
  // Hooks generate RSA keys: on a loaded 2-core machine that alone can pass vitest's 10 s default.
  test: { testTimeout: 20_000, hookTimeout: 60_000 },
});
