import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The spec helpers run inside workerd, where the venue conformance suites that use them run.
export default defineConfig({
  plugins: [cloudflareTest({ miniflare: { compatibilityDate: "2026-04-20" } })],
});
