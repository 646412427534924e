import { defineConfig } from "vitest/config";

// The CLI runs under plain Node, as operators run it; the preflight test starts the real mesh in Miniflare.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 30_000, hookTimeout: 120_000 },
});
