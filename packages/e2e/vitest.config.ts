import { defineConfig } from "vitest/config";

// Two projects. `console`: the operator console against one mesh for the whole run (started by its global set-up),
// test files one at a time, since they share it. `harness`: the harness's own parts against stand-ins (no mesh).
export default defineConfig({
  test: {
    // A browser step against a 2-core machine under load: generous, and no test waits on a timer of its own.
    testTimeout: 300_000,
    hookTimeout: 2_400_000,
    // expect.poll waits for the page, never a fixed time: up to a minute on a loaded machine (the default is 1 s).
    expect: { poll: { timeout: 60_000, interval: 100 } },
    fileParallelism: false,
    projects: [
      {
        extends: true,
        test: { name: "console", include: ["test/**/*.e2e.ts"], globalSetup: ["./src/global-setup.ts"] },
      },
      {
        extends: true,
        test: { name: "harness", include: ["test/**/*.harness.ts"], globalSetup: ["./src/harness-setup.ts"] },
      },
    ],
  },
});
