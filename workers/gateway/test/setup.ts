import { env } from "cloudflare:workers";
import { migrateMeshDatabases } from "@paulp/testing/mesh-databases";

// The auxiliary workers share these databases by id; migrate them once per test file.
await migrateMeshDatabases(env);
