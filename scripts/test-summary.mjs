// Sums every package's vitest JSON report into one closing line, "N passed, N failed", so a reader of the
// whole run (CI included) sees the totals in one place. Exits non-zero if any test failed or none ran.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
let passed = 0;
let failed = 0;
let skipped = 0;
const perPackage = [];
for (const group of ["workers", "packages"]) {
  for (const name of readdirSync(path.join(root, group))) {
    const report = path.join(root, group, name, ".test-results", "vitest.json");
    if (!existsSync(report)) continue;
    const r = JSON.parse(readFileSync(report, "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    perPackage.push(`${group}/${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  }
}
console.log(perPackage.join("\n"));
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
