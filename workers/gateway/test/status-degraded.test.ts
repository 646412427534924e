import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import { buildRouter } from "../src/router";

async function statusWith(overrides: Partial<Env>) {
  const ctx = createExecutionContext();
  const res = await buildRouter().fetch(
    new Request("https://gw.test/admin/status", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } }),
    { ...env, ...overrides } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return {
    res,
    body: (await res.json()) as {
      status: string;
      failing: string[];
      services: Record<string, { ok: boolean; error?: string }>;
    },
  };
}

describe("/admin/status when a service is down", () => {
  it("answers 503 degraded naming a service whose binding throws", async () => {
    const broken = {
      health: async () => {
        throw new Error("binding unavailable");
      },
    };
    const { res, body } = await statusWith({ RISK: broken as unknown as Env["RISK"] });
    expect(res.status).toBe(503);
    expect(body.status).toBe("degraded");
    expect(body.failing).toEqual(["risk"]);
    expect(body.services.risk?.error).toContain("binding unavailable");
    expect(body.services.audit?.ok).toBe(true);
  });

  it("names a service that reports a failing check", async () => {
    const sick = {
      health: async () => ({
        service: "ingestion",
        ok: false,
        checks: [{ name: "d1_markets", ok: false, detail: "D1 down" }],
      }),
    };
    const { res, body } = await statusWith({ INGESTION: sick as unknown as Env["INGESTION"] });
    expect(res.status).toBe(503);
    expect(body.failing).toEqual(["ingestion"]);
    expect(body.services.ingestion?.error).toContain("d1_markets: D1 down");
  });

  it("times out a service that never answers", async () => {
    const hung = { health: () => new Promise(() => {}) };
    const { res, body } = await statusWith({ EXECUTION: hung as unknown as Env["EXECUTION"] });
    expect(res.status).toBe(503);
    expect(body.failing).toEqual(["execution"]);
    expect(body.services.execution?.error).toContain("timed out");
  }, 10_000);
});
