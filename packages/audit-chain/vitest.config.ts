import { defineConfig } from "vitest/config";

// Pure chain logic and the offline verifier run under plain Node, as operators run them.
export default defineConfig({ test: { include: ["test/**/*.test.ts"], testTimeout: 30_000 } });
