import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// The auxiliary workers share these databases by id; migrate them once per test file.
await applyD1Migrations(env.TEST_D1_ANCHOR, env.MIGRATIONS_ANCHOR);
await applyD1Migrations(env.TEST_D1_GOVERNANCE, env.MIGRATIONS_GOVERNANCE);
await applyD1Migrations(env.TEST_D1_MARKETS, env.MIGRATIONS_MARKETS);
