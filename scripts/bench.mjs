// `pnpm bench [name…]`: runs every benchmark in scripts/bench/ one after another (they share two CPU cores;
// running them together would measure each other). Each prints its own figures and ratios measured in the same
// run. `--smoke`: each runs at a small size, only to prove it still runs (the test command does this after the
// tests, with `--no-build`: turbo has just built every worker).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  XDG_CONFIG_HOME: path.join(root, ".xdg"),
};
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("--")));
const only = args.filter((a) => !a.startsWith("--"));
if (flags.has("--smoke")) env.BENCH_SMOKE = "1";
if (!flags.has("--no-build")) {
  const build = spawnSync(
    "node",
    ["scripts/with-env.mjs", "turbo", "run", "build", "--output-logs=errors-only"],
    { cwd: root, stdio: "inherit", env },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const dir = path.join(root, "scripts", "bench");
const benches = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith(".mjs") && !f.startsWith("_"))
      .sort()
  : [];
let failed = 0;
for (const file of benches) {
  if (only.length > 0 && !only.some((o) => file.includes(o))) continue;
  console.log(`\n=== ${file}${env.BENCH_SMOKE ? " (smoke: small sizes, figures meaningless)" : ""} ===`);
  const r = spawnSync("node", [path.join(dir, file)], { cwd: root, stdio: "inherit", env });
  if (r.status !== 0) {
    failed += 1;
    console.error(`${file} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed > 0 ? 1 : 0);
