import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import path from "node:path";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..", "..");
/** Everything a run leaves (state, the mesh's log, screenshots): git-ignored. */
export const E2E_DIR = path.join(ROOT, ".e2e");
export const SCREENSHOTS = path.join(E2E_DIR, "screenshots");

/** What the tests read of the running mesh (handed over by the global set-up). */
export interface MeshInfo {
  base: string;
  adminToken: string;
  screenshots: string;
  /** When the mesh was started (ms since the epoch): every evidence object it holds was fetched after this. */
  startedAt: number;
}

export function adminTokenOf(root: string = ROOT): string {
  const m = /^ADMIN_TOKEN=(.*)$/m.exec(
    readFileSync(path.join(root, "workers", "gateway", ".dev.vars"), "utf8"),
  );
  if (!m?.[1]) throw new Error("workers/gateway/.dev.vars has no ADMIN_TOKEN (pnpm dev writes it)");
  return JSON.parse(m[1]) as string;
}

/**
 * The host of the IBKR gateway the dev mesh's execution talks to: its config's `IBKR_GATEWAY_URL`, read where it is
 * set (workers/execution/wrangler.jsonc) so a fault the tests put on it follows the config.
 */
export function ibkrGatewayHost(root: string = ROOT): string {
  const config = readFileSync(path.join(root, "workers", "execution", "wrangler.jsonc"), "utf8");
  const m = /"IBKR_GATEWAY_URL"\s*:\s*"([^"]+)"/.exec(config);
  if (!m?.[1]) throw new Error("workers/execution/wrangler.jsonc sets no IBKR_GATEWAY_URL");
  return new URL(m[1]).host;
}

/**
 * `pnpm dev` on a fresh state folder and its own port, with the Cron Triggers off (PAULP_DEV_CRON=0) so nothing
 * moves under a test but what the test does; resolves once the gateway answers. `stop` ends its process group.
 */
/**
 * A port nothing listens on now (the kernel's pick). Two test runs on one machine each get their own, so the suite
 * can run twice at once (a fixed port made the second run's mesh hang).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startMesh(
  port: number,
): Promise<{ base: string; stop: () => Promise<void>; log: string }> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  mkdirSync(E2E_DIR, { recursive: true });
  const stateDir = path.join(E2E_DIR, `state-${stamp}`);
  const logPath = path.join(E2E_DIR, `mesh-${stamp}.log`);
  const log = createWriteStream(logPath);
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, "scripts", "dev.mjs")], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      PAULP_INSPECTOR_PORT: process.env.PAULP_INSPECTOR_PORT ?? String(await freePort()),
      PAULP_STATE_DIR: stateDir,
      PAULP_DEV_SEED: "0",
      PAULP_DEV_CRON: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  // However the run ends (a failure, Ctrl-C, a killed runner), the mesh's whole process group goes with it.
  const killGroup = () => {
    try {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, "SIGINT");
    } catch {}
  };
  process.once("exit", killGroup);
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      killGroup();
      process.exit(130);
    });
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGINT");
      } catch {}
      await exited;
    }
    log.end();
  };
  await new Promise<void>((resolve, reject) => {
    const watch = (chunk: Buffer) => {
      log.write(chunk);
      if (/Paul P is running/.test(chunk.toString())) resolve();
      if (/did not answer \/health/.test(chunk.toString()))
        reject(new Error(`the mesh did not start (see ${logPath})`));
    };
    child.stdout?.on("data", watch);
    child.stderr?.on("data", watch);
    child.on("exit", (code) =>
      reject(new Error(`pnpm dev exited (${code}) before the mesh answered: ${logPath}`)),
    );
  }).catch(async (error) => {
    await stop();
    throw error;
  });
  return { base: `http://127.0.0.1:${port}`, stop, log: logPath };
}
