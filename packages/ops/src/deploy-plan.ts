// Which deployed workers a change ships: a worker is redeployed when a file it is built from changed, its own or a
// workspace package it depends on at run time (`dependencies`, followed transitively). `devDependencies` are for
// tests and do not ship: a change to the test doubles redeploys nothing. Where a path's effect on a build is not
// known, every worker is redeployed (closed: a deploy too many is noise, one too few leaves old code live).
import { DEPLOYED_WORKERS, type DeployedWorker } from "./preflight/config";

/** A workspace package as the plan reads it: its folder and the workspace packages it depends on at run time. */
export interface WorkspacePackage {
  name: string;
  /** Relative to the repository root, `/`-separated: `workers/risk`, `packages/kit`. */
  dir: string;
  /** Names of workspace packages in its `dependencies` (never its `devDependencies`). */
  dependsOn: string[];
}

/**
 * Top-level paths that no worker is built from: prose, CI, the dev scripts, the linter's config. Anything else at
 * the top level (the lockfile, the workspace's catalog, the base tsconfig, a folder added later) may change every
 * build.
 */
const OUTSIDE_EVERY_BUILD = [
  /^docs\//,
  /^\.github\//,
  /^\.ci\//,
  /^scripts\//,
  /^[^/]+\.md$/,
  /^biome\.json$/,
];

/** Inside a package, what is not built into it: its tests and prose. */
const NOT_SHIPPED_IN_PACKAGE = [/^test\//, /\.md$/];

/** The deployed workers `changed` (paths relative to the root) ships, in binding order. */
export function workersToDeploy(
  changed: readonly string[],
  packages: readonly WorkspacePackage[],
): DeployedWorker[] {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const touched = new Set<string>();
  for (const file of changed) {
    const owner = packages.find((p) => file.startsWith(`${p.dir}/`));
    if (owner) {
      const inside = file.slice(owner.dir.length + 1);
      if (!NOT_SHIPPED_IN_PACKAGE.some((pattern) => pattern.test(inside))) touched.add(owner.name);
    } else if (!OUTSIDE_EVERY_BUILD.some((pattern) => pattern.test(file))) return [...DEPLOYED_WORKERS];
  }
  const shipsTouched = (name: string, seen = new Set<string>()): boolean => {
    if (touched.has(name)) return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return (byName.get(name)?.dependsOn ?? []).some((dep) => shipsTouched(dep, seen));
  };
  return DEPLOYED_WORKERS.filter((worker) => {
    const pkg = packages.find((p) => p.dir === `workers/${worker}`);
    // A deployed worker the workspace does not list is not one the plan understands: deployed.
    return pkg === undefined || shipsTouched(pkg.name);
  });
}
