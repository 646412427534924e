// The checklist items the configs decide (the running gateway confirms some of them).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { incidentContactsProblem, isPlaceholder } from "@paulp/contracts";
import {
  type CheckLine,
  type Context,
  configured,
  fail,
  gatewaySays,
  pass,
  withGatewayConfig,
} from "./check";
import { badD1Ids, routeHosts, secretsInConfig } from "./config";

export async function secretsSet({ input, configs }: Context): Promise<CheckLine[]> {
  const item = "All secrets set via `wrangler secret put`";
  const { ok, broken } = configured(configs);
  const lines = broken.map((b) => fail(item, b));
  for (const [w, c] of ok) {
    const required = c.secrets?.required ?? [];
    let set: string[];
    try {
      set = await input.listSecrets(w);
    } catch (error) {
      lines.push(fail(`${item}: ${w}`, `could not list its secrets: ${(error as Error).message}`));
      continue;
    }
    const missing = required.filter((s) => !set.includes(s));
    lines.push(
      missing.length === 0
        ? pass(`${item}: ${w}`, required.length ? `${required.join(", ")} set` : "needs none")
        : fail(`${item}: ${w}`, `not set: ${missing.join(", ")}`),
    );
  }
  return lines;
}

export function adminTokenStrong({ live }: Context): Promise<CheckLine> {
  return gatewaySays(live, "ADMIN_TOKEN is strong (32+ characters)", "admin_token", {
    unreported: "the gateway does not report its token's strength (an older gateway?)",
    ok: (detail) => `the gateway judges it: ${detail}`,
    refused: (detail) => detail ?? "refused",
    unasked: (message) =>
      /admin_auth_misconfigured/.test(message)
        ? "the gateway refuses its ADMIN_TOKEN (admin routes closed); sign in through Access (PAULP_ACCESS_JWT) to see why"
        : message,
  });
}

export function accessConfigured({ input, configs, live }: Context): Promise<CheckLine> {
  const item = "Cloudflare Access configured for admin routes";
  return withGatewayConfig(configs, item, async (gateway) => {
    const team = String(gateway.vars?.ACCESS_TEAM_DOMAIN ?? "").trim();
    const aud = String(gateway.vars?.ACCESS_AUD ?? "").trim();
    const problems = [
      !team && "ACCESS_TEAM_DOMAIN is empty",
      team && isPlaceholder(team) && `ACCESS_TEAM_DOMAIN ${team} is a placeholder`,
      input.target !== "local" &&
        team &&
        !/\.cloudflareaccess\.com$/.test(team) &&
        `ACCESS_TEAM_DOMAIN ${team} is not a *.cloudflareaccess.com team`,
      !aud && "ACCESS_AUD is empty",
      aud && isPlaceholder(aud) && "ACCESS_AUD is a placeholder",
    ].filter(Boolean);
    if (problems.length > 0) return fail(item, `${problems.join("; ")} (workers/gateway/wrangler.jsonc)`);
    return gatewaySays(live, item, "access", {
      unreported: "the gateway does not report its Access configuration",
      ok: (detail) => detail ?? "ok",
      refused: (detail) => `the gateway says: ${detail}`,
    });
  });
}

export async function previewsOff({ configs }: Context): Promise<CheckLine> {
  const item = "`workers_dev` and `preview_urls` off";
  const { ok, broken } = configured(configs);
  // Both default to on when not written: only an explicit false is off.
  const on = ok.flatMap(([w, c]) => [
    ...(c.workers_dev === false ? [] : [`${w}: workers_dev`]),
    ...(c.preview_urls === false ? [] : [`${w}: preview_urls`]),
  ]);
  const bad = [...broken, ...on];
  return bad.length === 0
    ? pass(item, "false in every worker's config")
    : fail(item, `not false: ${bad.join(", ")}`);
}

export async function noSecretsInConfig({ configs }: Context): Promise<CheckLine> {
  const item = "No secrets in wrangler config or code";
  const { ok, broken } = configured(configs);
  const found = ok.flatMap(([w, c]) => secretsInConfig(c).map((f) => `${w}: ${f}`));
  const bad = [...broken, ...found];
  return bad.length === 0
    ? pass(item, "no var named or shaped like a secret in any config")
    : fail(item, `in config: ${bad.join(", ")} (use wrangler secret put)`);
}

export async function noPlaceholderD1({ input, configs }: Context): Promise<CheckLine> {
  const item = "No placeholder D1 database ids";
  const { ok, broken } = configured(configs);
  const bad = [...broken, ...ok.flatMap(([w, c]) => badD1Ids(c, input.target).map((d) => `${w}: ${d}`))];
  return bad.length === 0
    ? pass(item, input.target === "local" ? "local databases" : "every database_id is a UUID")
    : fail(item, `placeholder or malformed: ${bad.join(", ")}`);
}

export async function gatewayRoute({ input, configs }: Context): Promise<CheckLine> {
  const item = "A route or custom domain for the gateway";
  if (input.target === "local") {
    return input.client
      ? pass(item, `local mesh at ${input.client.base.origin}`)
      : fail(item, "no local gateway URL given");
  }
  return withGatewayConfig(configs, item, async (gateway) => {
    const hosts = routeHosts(gateway);
    if (hosts.length === 0) return fail(item, `env.${input.target} attaches no route or custom domain`);
    const placeholders = hosts.filter((h) => isPlaceholder(h));
    if (placeholders.length > 0)
      return fail(
        item,
        `placeholder hostname ${placeholders.join(", ")}: set your own in workers/gateway/wrangler.jsonc`,
      );
    // The gateway asked must be the one configured (a local stand-in, as in tests, is not compared).
    const served = input.client && !input.client.local ? input.client.base.hostname : undefined;
    if (served && !hosts.includes(served))
      return fail(item, `configured ${hosts.join(", ")} but asked ${served}: check PAULP_URL`);
    return pass(item, hosts.join(", "));
  });
}

export function incidentContacts({ input, configs, live }: Context): Promise<CheckLine> {
  const item = "Incident response contacts defined";
  return withGatewayConfig(configs, item, async (gateway) => {
    const problem = incidentContactsProblem(gateway.vars?.INCIDENT_CONTACTS);
    if (problem)
      return fail(
        item,
        `${problem} (workers/gateway/wrangler.jsonc${input.target === "local" ? "" : ` env.${input.target}`})`,
      );
    const runbook = path.join(input.root, "docs", "runbook.md");
    if (!existsSync(runbook) || !readFileSync(runbook, "utf8").includes("INCIDENT_CONTACTS"))
      return fail(item, "docs/runbook.md does not say where the contacts are (INCIDENT_CONTACTS)");
    return gatewaySays(live, item, "incident_contacts", {
      unreported: "the deployed gateway does not report its contacts (deploy it)",
      ok: (detail) => `configured and deployed: ${detail}`,
      refused: (detail) => `the deployed gateway says: ${detail}`,
    });
  });
}
