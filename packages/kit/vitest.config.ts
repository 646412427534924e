import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// A worker answering over RPC, so rpc() is tested against what a real binding returns (test/rpc.test.ts).
const leaf = `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  async answer(text) { return { ok: true, value: { text, at: [1, 2] } }; }
}`;

// Unit tests of the shared kit, run inside workerd (the runtime the code ships to).
export default defineConfig({
  plugins: [
    cloudflareTest({
      miniflare: {
        compatibilityDate: "2026-04-20",
        compatibilityFlags: ["nodejs_compat"],
        serviceBindings: { LEAF: "leaf" },
        workers: [{ name: "leaf", modules: true, script: leaf, compatibilityDate: "2026-04-20" }],
      },
    }),
  ],
});
