import { type HealthCheck, incidentContactsProblem } from "@paulp/contracts";
import { createEgressFetch } from "@paulp/kit";
import { accessJwksCache } from "./auth/access";
import { adminTokenProblem, MIN_TOKEN_GUESSES_LOG10 } from "./auth/admin-token";
import type { Env } from "./env";
import { localSimulator } from "./simulator";

/** The gateway's own configuration, judged as the pre-live checklist judges it. */
export interface GatewayConfigHealth {
  ok: boolean;
  checks: HealthCheck[];
}

/**
 * The gateway's configuration health for `/admin/status`: the ADMIN_TOKEN's strength (never the token), Cloudflare
 * Access (team domain and AUD set, the team's signing keys reachable now) and the incident contacts. Each check
 * says why it fails, in words that may be logged.
 */
export async function gatewayConfigHealth(request: Request, env: Env): Promise<GatewayConfigHealth> {
  const checks: HealthCheck[] = [];
  const tokenProblem = await adminTokenProblem(env.ADMIN_TOKEN);
  checks.push(
    tokenProblem
      ? { name: "admin_token", ok: false, detail: tokenProblem }
      : {
          name: "admin_token",
          ok: true,
          detail: `set; zxcvbn estimates at least 10^${MIN_TOKEN_GUESSES_LOG10} guesses`,
        },
  );
  checks.push(await accessCheck(request, env));
  const contactsProblem = incidentContactsProblem(env.INCIDENT_CONTACTS);
  checks.push(
    contactsProblem
      ? { name: "incident_contacts", ok: false, detail: contactsProblem }
      : {
          name: "incident_contacts",
          ok: true,
          detail: `${(parsedContacts(env.INCIDENT_CONTACTS) ?? []).length} people named`,
        },
  );
  return { ok: checks.every((c) => c.ok), checks };
}

function parsedContacts(raw: unknown): unknown[] | null {
  const value = typeof raw === "string" ? JSON.parse(raw) : raw;
  return Array.isArray(value) ? value : null;
}

async function accessCheck(request: Request, env: Env): Promise<HealthCheck> {
  const teamDomain = env.ACCESS_TEAM_DOMAIN?.trim() ?? "";
  const aud = env.ACCESS_AUD?.trim() ?? "";
  const missing = [!teamDomain && "ACCESS_TEAM_DOMAIN", !aud && "ACCESS_AUD"].filter(Boolean);
  if (missing.length > 0) {
    return {
      name: "access",
      ok: false,
      detail: `${missing.join(" and ")} not set: Cloudflare Access sign-in is off (bearer token only)`,
    };
  }
  const simulator = localSimulator(request, env);
  const egress = createEgressFetch({ extraHosts: [teamDomain], simulator });
  const probe = await accessJwksCache(teamDomain, egress, simulator !== undefined).probe();
  return probe.ok
    ? {
        name: "access",
        ok: true,
        detail: `team ${teamDomain}, AUD set, ${probe.keys} signing key(s) fetched ${probe.ageSeconds} s ago`,
      }
    : { name: "access", ok: false, detail: `team ${teamDomain}: signing keys unreachable (${probe.error})` };
}
