import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

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
      "risk",
    ]);
  });
});
