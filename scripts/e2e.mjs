// `pnpm e2e`: the operator console in a real headless Chromium (Debian's, installed by the set-up when missing and
// run as root; otherwise the run fails saying how) against the whole local mesh, started on a fresh state folder
// and seeded. Screenshots of each view land in .e2e/screenshots (git-ignored). See docs/console.md.
import { spawn } from "node:child_process";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const dir = path.join(root, "packages", "e2e");
const vitest = path.join(dir, "node_modules", ".bin", "vitest");
const child = spawn(
  vitest,
  [
    "run",
    "--reporter=default",
    "--reporter=json",
    "--outputFile.json=.test-results/vitest.json",
    ...process.argv.slice(2),
  ],
  { cwd: dir, stdio: "inherit" },
);
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
