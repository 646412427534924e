import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Unit tests of the strategy code shared by execution and replay, run inside workerd (the runtime the code ships to).
export default defineConfig({
  plugins: [
    cloudflareTest({ miniflare: { compatibilityDate: "2026-04-20", compatibilityFlags: ["nodejs_compat"] } }),
  ],
});
