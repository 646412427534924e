import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { Option } from "commander";
import { CliError } from "../client";
import { type WorkspacePackage, workersToDeploy } from "../deploy-plan";
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

  // CI's deploy job asks which workers to deploy (README, "Deploying"): those, in binding order.
  command(
    program,
    "deploy-plan",
    "the deployed workers the commits since --since ship (their files or a package they run on changed), in binding order",
  )
    .option(
      "--since <rev>",
      "the commit both environments run now (CI: the head of the last successful deploy)",
    )
    .option("--all", "every deployed worker (a first deploy, or one asked for by hand)")
    .action(async (o: { since?: string; all?: boolean }) => {
      if (!o.since === !o.all)
        throw new CliError("deploy-plan needs exactly one of --since <rev> or --all", 2);
      const changed = o.since === undefined ? null : await changedSince(io.root, o.since);
      if (o.since !== undefined && changed === null)
        io.err(`${o.since} is not a commit here: every worker is deployed`);
      const plan =
        changed === null ? [...DEPLOYED_WORKERS] : workersToDeploy(changed, readWorkspace(io.root));
      io.out(globals().json ? JSON.stringify(plan) : plan.join(" "));
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

/**
 * The paths changed between `since` and HEAD (both sides of a rename), or null when `since` is not a commit of this
 * clone (a force-push, a shallow checkout): the caller then deploys everything.
 */
async function changedSince(root: string, since: string): Promise<string[] | null> {
  const known = await execFileAsync("git", ["cat-file", "-e", `${since}^{commit}`], { cwd: root }).then(
    () => true,
    () => false,
  );
  if (!known) return null;
  const { stdout } = await execFileAsync(
    "git",
    ["diff", "--name-only", "--no-renames", since, "HEAD", "--"],
    {
      cwd: root,
      maxBuffer: 16 << 20,
    },
  );
  return stdout.split("\n").filter(Boolean);
}

/** The workspace's packages (`workers/*`, `packages/*`) with the workspace packages each runs on. */
function readWorkspace(root: string): WorkspacePackage[] {
  return ["workers", "packages"].flatMap((top) =>
    readdirSync(path.join(root, top))
      .filter((name) => existsSync(path.join(root, top, name, "package.json")))
      .map((name) => {
        const pkg = JSON.parse(readFileSync(path.join(root, top, name, "package.json"), "utf8")) as {
          name: string;
          dependencies?: Record<string, string>;
        };
        const dependsOn = Object.entries(pkg.dependencies ?? {})
          .filter(([, version]) => version.startsWith("workspace:"))
          .map(([dep]) => dep);
        return { name: pkg.name, dir: `${top}/${name}`, dependsOn };
      }),
  );
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
