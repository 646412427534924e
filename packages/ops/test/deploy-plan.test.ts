import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type WorkspacePackage, workersToDeploy } from "../src/deploy-plan";
import { DEPLOYED_WORKERS } from "../src/preflight/config";
import { paulp, REPO_ROOT } from "./helpers";

// CI deploys what changed since its last successful deploy and nothing else (README, "Deploying"): a worker whose own
// files or whose run-time packages changed. Test doubles and tests ship nowhere; an unknown top-level path ships
// everywhere.

/** A small workspace shaped like ours: risk runs on risk-rules, which runs on kit; every worker tests with testing. */
const WORKSPACE: WorkspacePackage[] = [
  ...DEPLOYED_WORKERS.map((w) => ({
    name: `@paulp/worker-${w}`,
    dir: `workers/${w}`,
    dependsOn: w === "risk" ? ["@paulp/risk-rules", "@paulp/kit"] : ["@paulp/kit"],
  })),
  { name: "@paulp/worker-venue-sim", dir: "workers/venue-sim", dependsOn: ["@paulp/kit"] },
  { name: "@paulp/kit", dir: "packages/kit", dependsOn: [] },
  { name: "@paulp/risk-rules", dir: "packages/risk-rules", dependsOn: ["@paulp/contracts"] },
  { name: "@paulp/contracts", dir: "packages/contracts", dependsOn: [] },
  { name: "@paulp/testing", dir: "packages/testing", dependsOn: ["@paulp/contracts"] },
  { name: "@paulp/ops", dir: "packages/ops", dependsOn: ["@paulp/contracts"] },
];
const plan = (...changed: string[]) => workersToDeploy(changed, WORKSPACE);

describe("the deploy plan", () => {
  it("deploys a worker whose own shipped files changed, and no other", () => {
    expect(plan("workers/risk/src/evaluate.ts")).toEqual(["risk"]);
    expect(plan("workers/gateway/wrangler.jsonc", "workers/audit/migrations/0009_x.sql")).toEqual([
      "audit",
      "gateway",
    ]);
  });

  it("deploys every worker that runs on a changed package, through the packages between", () => {
    expect(plan("packages/contracts/src/risk.ts")).toEqual(["risk"]);
    expect(plan("packages/kit/src/money.ts")).toEqual([...DEPLOYED_WORKERS]);
  });

  it("deploys nothing for tests, test doubles, prose, CI, the dev scripts or the simulator", () => {
    expect(
      plan(
        "workers/risk/test/evaluate.test.ts",
        "packages/kit/test/money.test.ts",
        "packages/testing/src/doubles/risk.ts",
        "packages/ops/src/cli.ts",
        "packages/kit/README.md",
        "docs/runbook.md",
        ".github/workflows/deploy.yml",
        ".ci/run",
        "scripts/dev.mjs",
        "README.md",
        "biome.json",
        "workers/venue-sim/src/index.ts",
      ),
    ).toEqual([]);
  });

  it("deploys every worker when a top-level build input changed or a path is not understood", () => {
    for (const file of [
      "pnpm-lock.yaml",
      "pnpm-workspace.yaml",
      "tsconfig.base.json",
      "package.json",
      "new/x.ts",
    ])
      expect(plan("docs/x.md", file), file).toEqual([...DEPLOYED_WORKERS]);
    // A deployed worker the workspace does not list is deployed too.
    expect(
      workersToDeploy(
        ["docs/x.md"],
        WORKSPACE.filter((p) => p.dir !== "workers/monitor"),
      ),
    ).toEqual(["monitor"]);
  });

  it("ends on a cycle of dependencies", () => {
    const cyclic = WORKSPACE.map((p) =>
      p.name === "@paulp/kit" ? { ...p, dependsOn: ["@paulp/risk-rules"] } : p,
    );
    expect(workersToDeploy(["packages/contracts/src/a.ts"], cyclic)).toEqual([...DEPLOYED_WORKERS]);
  });
});

/** `@paulp/*` specifiers a folder's source imports (`@paulp/kit`, `@paulp/risk-rules/testing`). */
function importedSpecifiers(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(ts|mjs|js)$/.test(entry.name))
        for (const m of readFileSync(p, "utf8").matchAll(/from "(@paulp\/[a-z-]+(?:\/[a-z0-9-]+)*)"/g))
          found.add(m[1]!);
    }
  };
  walk(dir);
  return found;
}

describe("the workspace the plan reads", () => {
  it("lists in `dependencies` every package a deployed worker's source runs on, and so on down", () => {
    // The plan follows `dependencies`: a package imported from src but listed only for tests would not redeploy it.
    const manifest = (dir: string) =>
      JSON.parse(readFileSync(path.join(REPO_ROOT, dir, "package.json"), "utf8")) as {
        name: string;
        dependencies?: Record<string, string>;
        exports?: Record<string, string>;
      };
    const dirOf = new Map<string, string>();
    for (const top of ["workers", "packages"])
      for (const name of readdirSync(path.join(REPO_ROOT, top))) {
        try {
          dirOf.set(manifest(`${top}/${name}`).name, `${top}/${name}`);
        } catch {}
      }
    const checked = new Set<string>();
    const check = (dir: string) => {
      if (checked.has(dir)) return;
      checked.add(dir);
      const deps = Object.keys(manifest(dir).dependencies ?? {});
      for (const specifier of importedSpecifiers(path.join(REPO_ROOT, dir, "src"))) {
        const used = specifier.split("/").slice(0, 2).join("/");
        expect(deps, `${dir}/src imports ${used}`).toContain(used);
        const usedDir = dirOf.get(used)!;
        // The plan reads a package's test/ as shipping nowhere: what src imports must not be served from there.
        const target = manifest(usedDir).exports?.[`.${specifier.slice(used.length)}`] ?? "./src/index.ts";
        expect(target, `${dir}/src imports ${specifier}`).not.toMatch(/^\.\/test\//);
        check(usedDir);
      }
    };
    for (const w of DEPLOYED_WORKERS) check(`workers/${w}`);
    expect(checked.size).toBeGreaterThan(DEPLOYED_WORKERS.length);
  });
});

/** A repository shaped like ours (every deployed worker, one package), with one commit: its folder and that commit. */
function scratchRepo(): { root: string; first: string; commit: (message: string) => string } {
  const root = mkdtempSync(path.join(tmpdir(), "paulp-deploy-plan-"));
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  };
  for (const w of [...DEPLOYED_WORKERS, "venue-sim"]) {
    const dependencies = { "@paulp/kit": "workspace:*" };
    write(`workers/${w}/package.json`, JSON.stringify({ name: `@paulp/worker-${w}`, dependencies }));
    write(`workers/${w}/src/index.ts`, "export {};\n");
  }
  write("packages/kit/package.json", JSON.stringify({ name: "@paulp/kit" }));
  write("packages/kit/src/index.ts", "export {};\n");
  write("workers/risk/src/moved.ts", "export const moved = 1;\n");
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
      cwd: root,
      encoding: "utf8",
    });
  git("init", "-q");
  const commit = (message: string) => {
    git("add", "-A");
    git("commit", "-q", "-m", message);
    return git("rev-parse", "HEAD").trim();
  };
  return { root, first: commit("first"), commit };
}

describe("`paulp deploy-plan`", () => {
  it("reads git's changes: a file moved from src to test deploys its worker, a deleted one too", async () => {
    const repo = scratchRepo();
    try {
      // Renamed: git would name only the new path (test/, shipping nowhere) unless asked for both sides.
      mkdirSync(path.join(repo.root, "workers/risk/test"));
      renameSync(
        path.join(repo.root, "workers/risk/src/moved.ts"),
        path.join(repo.root, "workers/risk/test/moved.ts"),
      );
      rmSync(path.join(repo.root, "workers/audit/src/index.ts"));
      writeFileSync(path.join(repo.root, "workers/gateway/README.md"), "prose\n");
      repo.commit("move, delete, prose");
      expect(await paulp(["deploy-plan", "--since", repo.first], { root: repo.root })).toMatchObject({
        code: 0,
        out: "audit risk",
      });
    } finally {
      rmSync(repo.root, { recursive: true, force: true });
    }
  });

  it("answers nothing since HEAD, every worker since a commit this clone lacks or with --all", async () => {
    expect(await paulp(["deploy-plan", "--since", "HEAD"])).toMatchObject({ code: 0, out: "" });
    const unknown = await paulp(["deploy-plan", "--since", "0".repeat(40)]);
    expect(unknown.code).toBe(0);
    expect(unknown.out.trim()).toBe(DEPLOYED_WORKERS.join(" "));
    expect(unknown.err).toMatch(/is not a commit here: every worker is deployed/);
    expect((await paulp(["deploy-plan", "--all"])).out.trim()).toBe(DEPLOYED_WORKERS.join(" "));
    for (const argv of [["deploy-plan"], ["deploy-plan", "--all", "--since", "HEAD"]]) {
      const refused = await paulp(argv);
      expect(refused.code, argv.join(" ")).toBe(2);
      expect(refused.err, argv.join(" ")).toMatch(/exactly one of --since <rev> or --all/);
    }
  });

  it("is what CI runs, from the head of the workflow's last successful run", () => {
    const workflow = readFileSync(path.join(REPO_ROOT, ".github", "workflows", "deploy.yml"), "utf8");
    expect(workflow).toContain("gh run list --workflow deploy.yml --branch main --status success");
    expect(workflow).toContain('paulp deploy-plan --since "$last"');
    expect(workflow).toContain("paulp deploy-plan --all");
    expect(workflow).toMatch(/actions: read/);
    // Not the push's previous head: a failed or cancelled run's commits would never deploy.
    expect(workflow).not.toContain("github.event.before");
    expect(workflow).not.toContain("turbo ls");
  });
});
