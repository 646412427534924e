import { nodeAndWorkerd } from "@paulp/testing";
import { defineConfig } from "vitest/config";

// The same tests twice: in Node (where `pnpm replay` evaluates over an export) and in workerd (where risk's Durable
// Objects and the mesh's replays evaluate), so a decision is shown to be the same in both.
export default defineConfig({ test: { projects: nodeAndWorkerd() } });
