// For the setup files of tests that run the real mesh in workerd (vitest-pool-workers bundles this source).
import { applyD1Migrations, type D1Migration } from "cloudflare:test";

/** The runner's bindings from `meshDatabases()` (vitest.config.ts): each shared database and its migrations. */
export interface MeshDatabases {
  MIGRATIONS_ANCHOR: D1Migration[];
  MIGRATIONS_GOVERNANCE: D1Migration[];
  MIGRATIONS_MARKETS: D1Migration[];
  TEST_D1_ANCHOR: D1Database;
  TEST_D1_GOVERNANCE: D1Database;
  TEST_D1_MARKETS: D1Database;
}

/** Migrate the databases the auxiliary workers share by id: once per test file, from test/setup.ts. */
export async function migrateMeshDatabases(env: MeshDatabases): Promise<void> {
  await applyD1Migrations(env.TEST_D1_ANCHOR, env.MIGRATIONS_ANCHOR);
  await applyD1Migrations(env.TEST_D1_GOVERNANCE, env.MIGRATIONS_GOVERNANCE);
  await applyD1Migrations(env.TEST_D1_MARKETS, env.MIGRATIONS_MARKETS);
}
