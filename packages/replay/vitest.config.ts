import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The same tests twice: in Node (where `pnpm replay` runs over an export) and in workerd (where the mesh runs
// replays), so a report's hash is shown to be the same in both.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "node", environment: "node", include: ["test/**/*.test.ts"] } },
      {
        plugins: [
          cloudflareTest({
            miniflare: { compatibilityDate: "2026-04-20", compatibilityFlags: ["nodejs_compat"] },
          }),
        ],
        test: { name: "workerd", include: ["test/**/*.test.ts"] },
      },
    ],
  },
});
