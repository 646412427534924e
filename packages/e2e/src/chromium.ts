import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Where Debian's `chromium` package puts the browser (PAULP_CHROMIUM names another one). */
export const CHROMIUM = process.env.PAULP_CHROMIUM ?? "/usr/bin/chromium";

export const HOW_TO_INSTALL =
  "the console's browser tests need Chromium: as root, `apt-get update && apt-get install -y chromium` " +
  "(Debian's package, /usr/bin/chromium), or set PAULP_CHROMIUM to a Chromium binary";

function run(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return r.status === 0;
}

/**
 * The Chromium the tests drive. Missing, it is installed from Debian's packages when the set-up runs as root
 * with apt-get (a clean CI machine); otherwise the run fails saying how to install it. Never skipped.
 */
export function ensureChromium(log: (line: string) => void = console.log): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!process.env.PAULP_CHROMIUM && isRoot && existsSync("/usr/bin/apt-get")) {
    log("[e2e] Chromium is missing: installing Debian's chromium package (apt-get, as root)");
    if (
      run("apt-get", ["update"]) &&
      run("apt-get", ["install", "-y", "--no-install-recommends", "chromium"]) &&
      existsSync(CHROMIUM)
    )
      return CHROMIUM;
    throw new Error(`installing chromium with apt-get failed: ${HOW_TO_INSTALL}`);
  }
  throw new Error(`no Chromium at ${CHROMIUM}: ${HOW_TO_INSTALL}`);
}

/**
 * The flags this machine needs: no sandbox as root, no GPU, and no background calls to Google's hosts (the closed
 * network refuses them). Playwright adds --headless and a fresh --user-data-dir itself.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];
