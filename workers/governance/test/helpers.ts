import { env, exports } from "cloudflare:workers";
import type { Principal } from "@paulp/contracts";
import type { AuditDouble } from "@paulp/testing/doubles";
import type { GovernanceEntrypoint } from "../src/index";

/** The governance entrypoint under test, called like any other worker calls it over RPC. */
export const gov = () => (exports as unknown as { default: GovernanceEntrypoint }).default;

/** The audit double (@paulp/testing) behind governance's AUDIT binding, with its test controls. */
export const auditDouble = () => env.AUDIT as unknown as AuditDouble;

/** A verified person (Cloudflare Access). */
export const person = (name: string): Principal => ({
  method: "access",
  subject: `sub-${name}`,
  email: `${name}@example.com`,
});
/** The shared admin token: never a person. */
export const TOKEN: Principal = { method: "token", subject: "admin-token" };

export const alice = person("alice");
export const bob = person("bob");
export const carol = person("carol");
export const dave = person("dave");

/** Event types the audit double recorded since the last reset, without roster seeding (first use only). */
export async function auditTypes(): Promise<string[]> {
  return (await auditDouble()._events()).map((e) => e.type).filter((t) => t !== "governance.roster_seeded");
}
