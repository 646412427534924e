import type { D1Migration } from "@cloudflare/vitest-pool-workers";
import type { WorkerOptions } from "miniflare";
import type { TestProjectInlineConfiguration } from "vitest/config";

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
