// Prints the local ADMIN_TOKEN written by `pnpm dev` (for curl: -H "Authorization: Bearer $(node scripts/dev-token.mjs)").
import { readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const line = readFileSync(path.join(root, "workers", "gateway", ".dev.vars"), "utf8")
  .split("\n")
  .find((l) => l.startsWith("ADMIN_TOKEN="));
if (!line) {
  console.error("no ADMIN_TOKEN in workers/gateway/.dev.vars: run pnpm dev once");
  process.exit(1);
}
process.stdout.write(JSON.parse(line.slice("ADMIN_TOKEN=".length)));
