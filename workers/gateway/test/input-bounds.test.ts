import { env } from "cloudflare:workers";
import type { GovernanceRpc } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { adminFetch } from "./helpers";

type Envelope = { error: { code: string; message: string } };

const post = (body: string): RequestInit => ({
  method: "POST",
  body,
  headers: { "content-type": "application/json" },
});

/** `depth` nested arrays around a number, as text: ~2 bytes a level, far under any body limit. */
const nestedArrays = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`;

describe("JSON nesting depth of request bodies", () => {
  it("refuses a strategy whose params nest 10,000 deep with a 400 envelope, and stores nothing", async () => {
    const before = (await (await adminFetch("/admin/strategies")).json()) as unknown[];
    const body = `{"name":"deep","kind":"deep_test","allocation":"1","venues":["kalshi"],"params":{"x":${nestedArrays(10_000)}}}`;
    expect(body.length).toBeLessThan(32 * 1024);
    const res = await adminFetch("/admin/strategies", post(body));
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as Envelope;
    expect(error.code).toBe("invalid_json");
    expect(error.message).toMatch(/nest/);
    const after = (await (await adminFetch("/admin/strategies")).json()) as unknown[];
    expect(after).toHaveLength(before.length);
  });

  it("refuses deep nesting in any body, whatever its schema", async () => {
    for (const [method, path, body] of [
      ["PUT", "/admin/risk/limits", nestedArrays(10_000)],
      ["PUT", "/admin/compliance/rules", `{"rules":${nestedArrays(5_000)}}`],
      ["POST", "/admin/circuit-breaker/transition", `{"targetState":"HALT","reason":${nestedArrays(1_000)}}`],
    ] as const) {
      const res = await adminFetch(path, { ...post(body), method });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as Envelope).error.code).toBe("invalid_json");
    }
  });

  it("still accepts ordinary nesting (params a few levels deep)", async () => {
    const res = await adminFetch(
      "/admin/strategies",
      post(
        JSON.stringify({
          name: "nested params",
          kind: "nested_ok",
          allocation: "1",
          venues: ["kalshi"],
          params: { legs: [{ venue: "kalshi", filters: { min: [1, 2, { x: [3] }] } }] },
        }),
      ),
    );
    expect(res.status).toBe(201);
  });
  // The same bound holds at the RPC boundary, for callers other than the gateway (200 levels: deep enough to
  // be refused, shallow enough for the RPC serialiser to carry).
  it("governance refuses deep params over RPC without crashing", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    const result = await (env.GOVERNANCE as unknown as GovernanceRpc)
      .createStrategy(
        {
          name: "deep rpc",
          kind: "deep_rpc",
          allocation: "1",
          venues: ["kalshi"],
          params: { x: deep as never },
        },
        { method: "token", subject: "admin-token" },
      )
      .catch((e: Error) => ({ ok: false as const, error: { code: "threw", message: e.message } }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatchObject({ code: "validation_failed", message: /params/ });
  });
});

describe("path and query parameters", () => {
  it("answers a bad one 400 validation_failed naming the parameter, never `(body)`", async () => {
    for (const [path, field] of [
      ["/admin/orders/bad%20id", "id"],
      ["/admin/orders/short/trace", "id"],
      ["/admin/execution/hedge-obligations/bad%20id/abandon", "id"],
      [`/admin/evidence/${"z".repeat(64)}`, "hash"],
      ["/admin/replays/not-a-replay", "id"],
      ["/admin/replays", "strategyId"],
      ["/admin/approvals?status=nope", "status"],
      ["/admin/pairs?review=maybe", "review"],
    ] as const) {
      const res = await adminFetch(path, path.endsWith("/abandon") ? post('{"reason":"x"}') : {});
      expect(res.status, path).toBe(400);
      const { error } = (await res.json()) as Envelope & {
        error: { details: { issues: { field: string }[] } };
      };
      expect(error.code, path).toBe("validation_failed");
      expect(error.message, path).toMatch(new RegExp(`^${field}: `));
      expect(error.details.issues[0]!.field, path).toBe(field);
    }
  });
});
