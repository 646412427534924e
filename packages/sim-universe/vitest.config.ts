import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The universe's own tests, run inside workerd, where the simulator and the workers' tests that read it run.
export default defineConfig({
  plugins: [
    cloudflareTest({ miniflare: { compatibilityDate: "2026-04-20", compatibilityFlags: ["nodejs_compat"] } }),
  ],
});
