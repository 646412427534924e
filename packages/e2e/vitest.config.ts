import { defineConfig } from "vitest/config";

// One mesh for the whole run (started by the global set-up); test files one at a time, since they share it.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.ts"],
    globalSetup: ["./src/global-setup.ts"],
    fileParallelism: false,
    // A browser step against a 2-core machine under load: generous, and no test waits on a timer of its own.
    testTimeout: 300_000,
    hookTimeout: 2_400_000,
    // expect.poll waits for the page, never a fixed time: up to a minute on a loaded machine (the default is 1 s).
    expect: { poll: { timeout: 60_000, interval: 100 } },
  },
});
