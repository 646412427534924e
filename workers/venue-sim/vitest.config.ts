import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The simulator's own tests: requests go to `exports.default.fetch` with the real venues' URLs.
export default defineConfig({
  // The small universe whatever a local .dev.vars says (`pnpm dev` writes SIM_UNIVERSE=realistic there).
  plugins: [
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: { bindings: { SIM_UNIVERSE: "small", SIM_KALSHI_PUBLIC_KEYS: "" } },
    }),
  ],
  // Bounded work (a whole keyset walk, a few hundred requests): slow only when the machine is loaded, where 20 s
  // was not enough for the longest of them. Hooks generate RSA keys, which alone can pass vitest's 10 s default there.
  test: { testTimeout: 120_000, hookTimeout: 60_000 },
});
