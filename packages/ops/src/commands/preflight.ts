import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { Option } from "commander";
import { CliError } from "../client";
import { DEPLOYED_WORKERS, type DeployedWorker, type Target } from "../preflight/config";
import { type CheckLine, preflight } from "../preflight/run";
import { type Cli, command, type Io } from "./context";

/** The security guide's pre-live checklist against a deployed environment or the local mesh. */
export function registerPreflight({ program, io, exit, globals, api }: Cli): void {
  command(
    program,
    "preflight",
    "the security guide's pre-live checklist, each line pass or fail (exit 1 on any failure)",
  )
    .addOption(
      new Option("--env <env>", "the deployed environment to check").choices(["staging", "production"]),
    )
    .option("--local", "check the local dev mesh (pnpm dev) and the configs' top level")
    .action(async (o: { env?: "staging" | "production"; local?: boolean }) => {
      if (!o.env === !o.local)
        throw new CliError("preflight needs exactly one of --env staging|production or --local", 2);
      const target: Target = o.local ? "local" : o.env!;
      const c = await api();
      if (target !== "local" && c.local)
        throw new CliError(`--env ${target} checks the deployed gateway: set PAULP_URL to its https URL`, 2);
      const lines = await preflight({
        target,
        root: io.root,
        client: c,
        listSecrets: (w) =>
          target === "local" ? Promise.resolve(devVarNames(io.root, w)) : secretsVia(io, w, target),
        now: Date.now,
      });
      printChecklist(lines, target);
      if (lines.some((l) => !l.ok)) exit.code = 1;
    });

  // CI's deploy job takes its order from here, so a worker added to DEPLOYED_WORKERS is deployed, in binding order.
  command(
    program,
    "deploy-order [workers...]",
    "the deployed workers in binding order, one line (what CI deploys, in that order); with names, only those",
  )
    .option(
      "--ignore-others",
      "drop names that are not deployed workers (the simulator) instead of refusing them",
    )
    .action((names: string[], o: { ignoreOthers?: boolean }) => {
      const unknown = names.filter((n) => !(DEPLOYED_WORKERS as readonly string[]).includes(n));
      if (unknown.length > 0 && !o.ignoreOthers)
        throw new CliError(
          `not a deployed worker: ${unknown.join(", ")} (deployed: ${DEPLOYED_WORKERS.join(" ")})`,
          2,
        );
      const order = DEPLOYED_WORKERS.filter((w) => names.length === 0 || names.includes(w));
      io.out(globals().json ? JSON.stringify(order) : order.join(" "));
    });

  function printChecklist(lines: CheckLine[], target: Target) {
    if (globals().json) {
      io.out(JSON.stringify({ target, ok: lines.every((l) => l.ok), checks: lines }, null, 2));
      return;
    }
    for (const l of lines) io.out(`${l.ok ? "PASS" : "FAIL"}  ${l.item}: ${l.reason}`);
    const failed = lines.filter((l) => !l.ok).length;
    io.out(
      failed === 0
        ? `preflight ${target}: every check passed`
        : `preflight ${target}: ${failed} of ${lines.length} checks failed`,
    );
  }
}

/** Names set in a worker's .dev.vars (what `pnpm dev` gives it as secrets). */
function devVarNames(root: string, worker: DeployedWorker): string[] {
  const file = path.join(root, "workers", worker, ".dev.vars");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => /^([A-Z0-9_]+)=/.exec(l)?.[1])
    .filter((n): n is string => Boolean(n));
}

const execFileAsync = promisify(execFile);

/** `wrangler secret list --env <env> --format json`: `[{ "name", "type" }]`, names only (never values). */
async function secretsVia(
  io: Io,
  worker: DeployedWorker,
  target: Exclude<Target, "local">,
): Promise<string[]> {
  if (io.listSecrets) return io.listSecrets(worker, target);
  const wrangler = path.join(io.root, "node_modules", ".bin", "wrangler");
  const { stdout } = await execFileAsync(
    wrangler,
    [
      "secret",
      "list",
      "--env",
      target,
      "--format",
      "json",
      "-c",
      path.join("workers", worker, "wrangler.jsonc"),
    ],
    {
      cwd: io.root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      maxBuffer: 1 << 20,
    },
  ).catch((error: { stderr?: string; message: string }) => {
    const line = (error.stderr ?? error.message).split("\n").find((l) => l.trim() && !/^\s*[▲⛅─]/.test(l));
    throw new Error(line?.trim() ?? "wrangler secret list failed");
  });
  const list = JSON.parse(stdout.slice(stdout.indexOf("["))) as { name: string }[];
  return list.map((s) => s.name);
}
