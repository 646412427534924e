import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";

const e = env as unknown as { D1_MARKETS: D1Database; TEST_MIGRATIONS: D1Migration[] };
await applyD1Migrations(e.D1_MARKETS, e.TEST_MIGRATIONS);
