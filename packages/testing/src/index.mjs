// Node-side helpers for vitest configs (plain ESM: vitest loads configs with Node, which cannot import .ts
// from a workspace package). Runs the real workers of the mesh as auxiliary workers, each built from its
// own wrangler.jsonc and prebuilt bundle (turbo builds every worker before any test runs).
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { buildSync } from "esbuild";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function workerConfigPath(name) {
  return path.join(REPO_ROOT, "workers", name, "wrangler.jsonc");
}

export function auxWorker(name, overrides = {}) {
  const dist = path.join(REPO_ROOT, "workers", name, "dist");
  if (!existsSync(path.join(dist, "index.js"))) {
    throw new Error(
      `workers/${name}/dist/index.js is missing: run \`pnpm build\` (turbo builds it before tests)`,
    );
  }
  const { workerOptions } = unstable_getMiniflareWorkerOptions(workerConfigPath(name));
  const modules = readdirSync(dist)
    .filter((f) => f.endsWith(".js") || f.endsWith(".mjs"))
    .map((f) => ({ type: "ESModule", path: path.join(dist, f) }));
  // Tests run the small universe whatever a local `.dev.vars` says (`pnpm dev` writes SIM_UNIVERSE=realistic
  // there, and wrangler would hand it to the simulator here too).
  const pinned = name === "venue-sim" ? { SIM_UNIVERSE: "small" } : {};
  return {
    ...workerOptions,
    name: name === "venue-sim" ? "paulp-venue-sim" : `paulp-${name}`,
    modulesRoot: dist,
    modules,
    ...overrides,
    bindings: { ...(workerOptions.bindings ?? {}), ...pinned, ...(overrides.bindings ?? {}) },
  };
}

export function workerMigrations(name, dir = "migrations") {
  return readD1Migrations(path.join(REPO_ROOT, "workers", name, dir));
}

/**
 * The vitest config of a worker's own tests: the worker (`./src/index.ts`, `./wrangler.jsonc`, with its real Durable
 * Objects, D1 and R2) is the test's main worker; `miniflare` adds the test's bindings and auxiliary workers.
 */
export function workerTests({ miniflare = {}, test = {} } = {}) {
  return {
    plugins: [
      cloudflareTest({ main: "./src/index.ts", wrangler: { configPath: "./wrangler.jsonc" }, miniflare }),
    ],
    test,
  };
}

/**
 * The D1 databases the real workers of a mesh share, bound to the test runner by the same ids with their migrations
 * (the pool cannot migrate an auxiliary worker's D1): test/setup.ts applies them once per test file.
 */
export async function meshDatabases() {
  return {
    bindings: {
      MIGRATIONS_ANCHOR: await workerMigrations("audit"),
      MIGRATIONS_GOVERNANCE: await workerMigrations("governance"),
      MIGRATIONS_MARKETS: await workerMigrations("ingestion"),
    },
    d1Databases: {
      TEST_D1_ANCHOR: "local-paulp-anchor",
      TEST_D1_GOVERNANCE: "local-paulp-governance",
      TEST_D1_MARKETS: "local-paulp-markets",
    },
  };
}

const DOUBLES = {
  audit: "paulp-audit",
  risk: "paulp-risk",
  governance: "paulp-governance",
  ingestion: "paulp-ingestion",
};
const built = new Map();

// A service's typed double (src/doubles/<service>.ts) as an auxiliary worker under the real worker's name, so
// a worker under test reaches it through its own service binding. Miniflare runs JavaScript: the double is
// bundled with esbuild here, when the vitest config loads (once per process), so no build step can be stale.
export function double(service) {
  const name = DOUBLES[service];
  if (!name) throw new Error(`no double for ${service}`);
  let script = built.get(service);
  if (!script) {
    const out = buildSync({
      entryPoints: [path.join(path.dirname(fileURLToPath(import.meta.url)), "doubles", `${service}.ts`)],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      external: ["cloudflare:workers"],
      write: false,
      logLevel: "silent",
    });
    script = out.outputFiles[0].text;
    built.set(service, script);
  }
  return { name, modules: true, script, compatibilityDate: "2026-04-20" };
}

/**
 * The vitest projects of a pure package shipped to both runtimes: the same test files in Node (the offline tools)
 * and in workerd (the mesh), so a result is shown to be the same in both.
 */
export function nodeAndWorkerd(include = ["test/**/*.test.ts"]) {
  return [
    { test: { name: "node", environment: "node", include } },
    {
      plugins: [
        cloudflareTest({
          miniflare: { compatibilityDate: "2026-04-20", compatibilityFlags: ["nodejs_compat"] },
        }),
      ],
      test: { name: "workerd", include },
    },
  ];
}
