import { double, workerTests } from "@paulp/testing";

// The risk worker runs as the test's main worker with its own Durable Objects. AUDIT and GOVERNANCE are the
// typed doubles of @paulp/testing the tests control (record appends, fail on demand, answer receipts), so every
// fail-closed path can be driven. Files run one at a time because the doubles keep their state in module globals.
export default workerTests({
  miniflare: {
    bindings: { STARTING_EQUITY: "100000.00" },
    workers: [double("audit"), double("governance")],
  },
  // Hooks get the tests' bound: a beforeEach's first RPCs also wait for the file's workerd start, which on a
  // loaded 2-core machine took more than vitest's default 10 s (worker-halt-race.test.ts, in a full run).
  test: { testTimeout: 20_000, hookTimeout: 20_000, fileParallelism: false, setupFiles: ["./test/setup.ts"] },
});
