import { defineConfig } from "vitest/config";

// One mesh for the whole run (started by the global set-up); test files one at a time, since they share it.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.ts"],
    globalSetup: ["./src/global-setup.ts"],
    fileParallelism: false,
    // A browser step against a 2-core machine under load: generous, and no test waits on a timer of its own.
    testTimeout: 180_000,
    hookTimeout: 900_000,
  },
});
