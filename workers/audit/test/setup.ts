import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.D1_ANCHOR, env.TEST_MIGRATIONS);
