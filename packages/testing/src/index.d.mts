import type { cloudflareTest, D1Migration } from "@cloudflare/vitest-pool-workers";
import type { WorkerOptions } from "miniflare";
import type { TestProjectInlineConfiguration, ViteUserConfig } from "vitest/config";

/** The repository root. */
export declare const REPO_ROOT: string;
/** Worker folders, by short name. */
export type WorkerName =
  | "audit"
  | "governance"
  | "risk"
  | "ingestion"
  | "execution"
  | "monitor"
  | "gateway"
  | "venue-sim";
/** Path to a worker's wrangler.jsonc. */
export declare function workerConfigPath(name: WorkerName): string;
/**
 * Miniflare options for a real, prebuilt worker running beside the test runner, with its own bindings
 * (Durable Objects, D1, R2, services) from its wrangler.jsonc; `overrides.bindings` are merged in.
 */
export declare function auxWorker(
  name: WorkerName,
  overrides?: Partial<WorkerOptions>,
): WorkerOptions & { name: string };
/** A worker's D1 migrations, to apply from the test runner (the pool cannot migrate an auxiliary's D1). */
export declare function workerMigrations(name: WorkerName, dir?: string): Promise<D1Migration[]>;
/** The pool's options for the worker under test (bindings, auxiliary workers, databases, buckets). */
export type WorkerTestMiniflare = NonNullable<
  Exclude<Parameters<typeof cloudflareTest>[0], (...args: never) => unknown>["miniflare"]
>;
/**
 * The vitest config of a worker's own tests: the worker (`./src/index.ts`, `./wrangler.jsonc`) is the test's main
 * worker; `miniflare` adds the test's bindings and auxiliary workers, `test` is vitest's.
 */
export declare function workerTests(options?: {
  miniflare?: WorkerTestMiniflare;
  test?: ViteUserConfig["test"];
}): ViteUserConfig;
/**
 * The D1 databases the mesh's real workers share (anchor, governance, markets): `MIGRATIONS_*` bindings and
 * `TEST_D1_*` databases by the workers' ids, for test/setup.ts to migrate.
 */
export declare function meshDatabases(): Promise<{
  bindings: Record<"MIGRATIONS_ANCHOR" | "MIGRATIONS_GOVERNANCE" | "MIGRATIONS_MARKETS", D1Migration[]>;
  d1Databases: Record<"TEST_D1_ANCHOR" | "TEST_D1_GOVERNANCE" | "TEST_D1_MARKETS", string>;
}>;
/** A service that has a typed double in src/doubles. */
export type DoubledService = "audit" | "risk" | "governance" | "ingestion";
/**
 * The service's typed double (src/doubles/<service>.ts, built to JavaScript at config load) as an auxiliary
 * worker named like the real one (`paulp-<service>`).
 */
export declare function double(service: DoubledService): WorkerOptions & { name: string };
/**
 * The vitest projects of a pure package shipped to both runtimes: the same test files (default
 * `test/**\/*.test.ts`) in Node and in workerd.
 */
export declare function nodeAndWorkerd(include?: string[]): TestProjectInlineConfiguration[];
