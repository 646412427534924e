import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type WorkspacePackage, workersToDeploy } from "../src/deploy-plan";
import { DEPLOYED_WORKERS } from "../src/preflight/config";
import { paulp, REPO_ROOT } from "./helpers";

// CI deploys what a push ships and nothing else (docs/runbook.md, "Deploys"): a worker whose own files or whose
// run-time packages changed. Test doubles and tests ship nowhere; an unknown top-level path ships everywhere.

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

/** `@paulp/*` packages a folder's source imports. */
function importedPackages(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(ts|mjs|js)$/.test(entry.name))
        for (const m of readFileSync(p, "utf8").matchAll(/from "(@paulp\/[a-z-]+)/g)) found.add(m[1]!);
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
      for (const used of importedPackages(path.join(REPO_ROOT, dir, "src"))) {
        expect(deps, `${dir}/src imports ${used}`).toContain(used);
        check(dirOf.get(used)!);
      }
    };
    for (const w of DEPLOYED_WORKERS) check(`workers/${w}`);
    expect(checked.size).toBeGreaterThan(DEPLOYED_WORKERS.length);
  });
});

describe("`paulp deploy-plan`", () => {
  it("answers nothing to deploy since HEAD, every worker since a commit this clone lacks, and is what CI runs", async () => {
    expect(await paulp(["deploy-plan", "--since", "HEAD"])).toMatchObject({ code: 0, out: "" });
    const unknown = await paulp(["deploy-plan", "--since", "0".repeat(40)]);
    expect(unknown.code).toBe(0);
    expect(unknown.out.trim()).toBe(DEPLOYED_WORKERS.join(" "));
    expect(unknown.err).toMatch(/is not a commit here: every worker is deployed/);
    const workflow = readFileSync(path.join(REPO_ROOT, ".github", "workflows", "deploy.yml"), "utf8");
    expect(workflow).toContain("paulp deploy-plan --since");
    expect(workflow).not.toContain("turbo ls");
  });
});
