// Removes stale per-package vitest reports so the summary counts only this run.
import { existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
for (const group of ["workers", "packages"]) {
  for (const name of readdirSync(path.join(root, group))) {
    const dir = path.join(root, group, name, ".test-results");
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}
