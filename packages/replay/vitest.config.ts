import { nodeAndWorkerd } from "@paulp/testing";
import { defineConfig } from "vitest/config";

// The same tests twice: in Node (where `pnpm replay` runs over an export) and in workerd (where ingestion and the
// mesh's replays run), so a result is shown to be the same in both. The offline CLI itself (bin/) runs in Node only.
export default defineConfig({
  test: {
    projects: [
      ...nodeAndWorkerd(["test/*.test.ts"]),
      { test: { name: "node-cli", environment: "node", include: ["test/cli/*.test.ts"] } },
    ],
  },
});
