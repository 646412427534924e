import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEPLOYED_WORKERS } from "../src/preflight/config";
import { REPO_ROOT } from "./helpers";

// The mesh's boundaries as its files state them (docs/architecture.md): no worker imports another worker's code,
// packages are consumed through their exports, and the simulator's data never ships in a production worker.

const WORKERS = readdirSync(path.join(REPO_ROOT, "workers")).filter((w) =>
  statSync(path.join(REPO_ROOT, "workers", w)).isDirectory(),
);
const PACKAGES = readdirSync(path.join(REPO_ROOT, "packages")).filter((p) =>
  statSync(path.join(REPO_ROOT, "packages", p)).isDirectory(),
);

function packageJson(dir: string): {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
} {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, dir, "package.json"), "utf8"));
}

/** Every .ts/.mts/.js/.mjs file under `dir` (no node_modules, no build output). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(full));
    else if (/\.(m?ts|m?js)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** The relative module specifiers a file imports, re-exports or references (`import`, `export … from`, `import()`). */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs: string[] = [];
  for (const m of text.matchAll(
    /(?:from\s+|import\s*\(\s*|import\s+|reference path=)["'](\.{1,2}\/[^"']+)["']/g,
  ))
    specs.push(m[1]!);
  return specs;
}

describe("the mesh's boundaries", () => {
  it("no production worker depends on the simulator's data or on another worker", () => {
    for (const worker of DEPLOYED_WORKERS) {
      const deps = Object.keys(packageJson(path.join("workers", worker)).dependencies ?? {});
      expect(deps, worker).not.toContain("@paulp/sim-universe");
      expect(
        deps.filter((d) => d.startsWith("@paulp/worker-")),
        worker,
      ).toEqual([]);
    }
  });

  it("no file of a worker or package imports by relative path out of its own folder", () => {
    const crossings: string[] = [];
    for (const [kind, names] of [
      ["workers", WORKERS],
      ["packages", PACKAGES],
    ] as const)
      for (const name of names) {
        const root = path.join(REPO_ROOT, kind, name);
        for (const file of sources(root))
          for (const spec of relativeImports(file)) {
            const target = path.resolve(path.dirname(file), spec);
            if (!target.startsWith(root + path.sep))
              crossings.push(`${path.relative(REPO_ROOT, file)} -> ${spec}`);
          }
      }
    // Repository tooling under scripts/ (the audit key generator) is not another worker's or package's code.
    expect(crossings.filter((c) => !/-> (\.\.\/)+scripts\//.test(c))).toEqual([]);
  });

  it("repository scripts take a workspace package by its name (its exports), never by a path into its files", () => {
    const intoPackages: string[] = [];
    for (const file of sources(path.join(REPO_ROOT, "scripts")))
      for (const m of readFileSync(file, "utf8").matchAll(
        /["'`][^"'`]*packages\/[\w-]+\/(?:src|test)\b[^"'`]*/g,
      ))
        intoPackages.push(`${path.relative(REPO_ROOT, file)}: ${m[0]}`);
    expect(intoPackages).toEqual([]);
  });
});
