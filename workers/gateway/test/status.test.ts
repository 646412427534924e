import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import { buildRouter } from "../src/router";

const gateway = () => (exports as unknown as { default: Fetcher }).default;

describe("/admin/status", () => {
  it("reports every worker healthy with the right token", async () => {
    const res = await gateway().fetch("https://gw.test/admin/status", {
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    const body = (await res.json()) as { status: string; services: Record<string, { ok: boolean }> };
    expect(body.status).toBe("ok");
    expect(res.status).toBe(200);
    expect(Object.keys(body.services).sort()).toEqual([
      "audit",
      "execution",
      "gateway",
      "governance",
      "ingestion",
      "monitor",
      "risk",
    ]);
  });
});

describe("/admin/status: the gateway's own configuration", () => {
  type Check = { name: string; ok: boolean; detail: string };
  type Body = { status: string; failing: string[]; services: { gateway: { ok: boolean; checks: Check[] } } };
  async function statusWith(overrides: Record<string, unknown>): Promise<{ code: number; body: Body }> {
    const ctx = createExecutionContext();
    const res = await buildRouter().fetch(
      new Request("https://gw.test/admin/status", {
        headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
      }),
      { ...env, ...overrides } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return { code: res.status, body: (await res.json()) as Body };
  }
  const check = (body: Body, name: string) => body.services.gateway.checks.find((c) => c.name === name);

  it("reports token strength, Access with its keys and the incident contacts, never the token", async () => {
    const { code, body } = await statusWith({});
    expect(code).toBe(200);
    expect(body.services.gateway.checks.map((c) => [c.name, c.ok])).toEqual([
      ["admin_token", true],
      ["access", true],
      ["incident_contacts", true],
      ["admin_audit_outbox", true],
    ]);
    expect(check(body, "access")?.detail).toMatch(/signing key\(s\) fetched/);
    expect(JSON.stringify(body)).not.toContain(env.ADMIN_TOKEN);
  });

  it("is degraded, naming why, for each misconfiguration one at a time", async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ACCESS_AUD: "" }, "access", /ACCESS_AUD not set/],
      [{ ACCESS_TEAM_DOMAIN: "" }, "access", /ACCESS_TEAM_DOMAIN not set/],
      [
        {
          VENUE_SIM: { fetch: async () => new Response("no", { status: 502 }) },
          ACCESS_TEAM_DOMAIN: "down.test",
        },
        "access",
        /signing keys unreachable/,
      ],
      [{ INCIDENT_CONTACTS: undefined }, "incident_contacts", /not set/],
      [
        {
          INCIDENT_CONTACTS: [
            { role: "primary on-call", name: "REPLACE_WITH_NAME", email: "oncall@REPLACE_WITH_YOUR_DOMAIN" },
            { role: "secondary", name: "Ann", email: "ann@corp.example" },
          ],
        },
        "incident_contacts",
        /2 placeholder/,
      ],
      [
        { INCIDENT_CONTACTS: [{ role: "primary on-call", name: "Ann", email: "ann@paulp.dev" }] },
        "incident_contacts",
        /invalid/,
      ],
    ];
    for (const [overrides, name, why] of cases) {
      const { code, body } = await statusWith(overrides);
      expect(code, name).toBe(503);
      expect(body.failing).toContain("gateway");
      expect(check(body, name)?.ok).toBe(false);
      expect(check(body, name)?.detail).toMatch(why);
    }
  });
});
