import { defineConfig } from "vitest/config";

// The spec package's own test runs in Node: it reads kalshi-typescript's docs from node_modules.
export default defineConfig({ test: { environment: "node" } });
