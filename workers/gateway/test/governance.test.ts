import { beforeAll, describe, expect, it } from "vitest";
import {
  accessToken,
  adminFetch,
  newSigner,
  paperStrategy,
  personFetch,
  post,
  strategyOf,
  type TestSigner,
} from "./helpers";

type Envelope = { error: { code: string; message: string } };

let signer: TestSigner;
const people: Record<string, string> = {};

beforeAll(async () => {
  signer = await newSigner(true);
  for (const name of ["alice", "bob", "carol"])
    people[name] = await accessToken(signer, `${name}@example.com`);
});

function asOne(name: string, path: string, init: RequestInit = {}): Promise<Response> {
  return personFetch(people[name]!, path, init);
}

describe("governance admin routes with the admin token", () => {
  it("lists approvals, strategies and pairs", async () => {
    for (const path of ["/admin/approvals", "/admin/strategies", "/admin/pairs"]) {
      const res = await adminFetch(path);
      expect(res.status).toBe(200);
      expect(Array.isArray(await res.json())).toBe(true);
    }
  });

  it("refuses to request, approve, reject, execute, go live or review: the token is no person", async () => {
    const before = (await (await adminFetch("/admin/approvals")).json()) as unknown[];
    const id = await paperStrategy();
    const attempts: [string, RequestInit][] = [
      [
        "/admin/approvals",
        post({ action: "execution.policy_live", payload: { scope: "global", mode: "live" } }),
      ],
      ["/admin/approvals/apr_x/approve", { method: "POST" }],
      ["/admin/approvals/apr_x/reject", post({ reason: "no" })],
      ["/admin/approvals/apr_x/execute", { method: "POST" }],
      [`/admin/strategies/${id}/go-live`, { method: "POST" }],
      ["/admin/pairs/pair_x/review", post({ decision: "approve" })],
    ];
    for (const [path, init] of attempts) {
      const res = await adminFetch(path, init);
      expect(res.status, path).toBe(403);
      const body = (await res.json()) as Envelope;
      expect(body.error.code).toBe("forbidden");
      expect(body.error.message).toMatch(/admin token cannot/);
    }
    const after = (await (await adminFetch("/admin/approvals")).json()) as unknown[];
    expect(after).toHaveLength(before.length);
    const strategies = (await (await adminFetch("/admin/strategies")).json()) as {
      id: string;
      state: string;
    }[];
    expect(strategies.find((s) => s.id === id)?.state).toBe("paper");
  });

  it("validates queries and bodies with the error envelope", async () => {
    const badStatus = await adminFetch("/admin/approvals?status=bogus");
    expect(badStatus.status).toBe(400);
    expect(((await badStatus.json()) as Envelope).error.code).toBe("validation_failed");
    const badStrategy = await adminFetch("/admin/strategies", post({ name: "x" }));
    expect(badStrategy.status).toBe(400);
    const badJson = await adminFetch("/admin/strategies", { method: "POST", body: "{nope" });
    expect(((await badJson.json()) as Envelope).error.code).toBe("invalid_json");
    const missing = await adminFetch("/admin/approvals/apr_missing");
    expect(missing.status).toBe(404);
    const unknownPair = await adminFetch("/admin/pairs/pair_missing/assess", { method: "POST" });
    expect(unknownPair.status).toBe(404);
  });
});

describe("two-person go-live through the gateway (Cloudflare Access)", () => {
  it("request → first approval → second approval by another person → live", async () => {
    const id = await paperStrategy();
    const requested = await asOne("alice", `/admin/strategies/${id}/go-live`, { method: "POST" });
    expect(requested.status).toBe(201);
    const { request } = (await requested.json()) as { request: { requestId: string; status: string } };
    expect(request.status).toBe("pending");

    const self = await asOne("alice", `/admin/approvals/${request.requestId}/approve`, { method: "POST" });
    expect(self.status).toBe(403);
    expect(((await self.json()) as Envelope).error.message).toMatch(/requester cannot approve/);

    const first = await asOne("bob", `/admin/approvals/${request.requestId}/approve`, { method: "POST" });
    expect(first.status).toBe(200);
    const firstBody = (await first.json()) as { request: { status: string }; applied: unknown };
    expect(firstBody.request.status).toBe("pending");
    expect(firstBody.applied).toBe(null);
    let strategies = (await (await adminFetch("/admin/strategies")).json()) as {
      id: string;
      state: string;
    }[];
    expect(strategies.find((s) => s.id === id)?.state).toBe("pending_live");

    const again = await asOne("bob", `/admin/approvals/${request.requestId}/approve`, { method: "POST" });
    expect(again.status).toBe(409);

    const second = await asOne("carol", `/admin/approvals/${request.requestId}/approve`, { method: "POST" });
    expect(second.status).toBe(200);
    const secondBody = (await second.json()) as {
      request: { status: string };
      applied: { ok: boolean };
      receipt?: unknown;
    };
    expect(secondBody.applied.ok).toBe(true);
    expect(secondBody.request.status).toBe("executed");
    // The receipt token never leaves the gateway.
    expect(JSON.stringify(secondBody)).not.toMatch(/receiptToken/);
    strategies = (await (await adminFetch("/admin/strategies")).json()) as { id: string; state: string }[];
    expect(strategies.find((s) => s.id === id)?.state).toBe("live");

    const rerun = await asOne("alice", `/admin/approvals/${request.requestId}/execute`, { method: "POST" });
    expect(rerun.status).toBe(409);
  });

  it("a rejected request cannot be approved, and its strategy is back in paper", async () => {
    const id = await paperStrategy();
    const requested = await asOne("alice", `/admin/strategies/${id}/go-live`, { method: "POST" });
    const { request } = (await requested.json()) as { request: { requestId: string } };
    const rejected = await asOne(
      "bob",
      `/admin/approvals/${request.requestId}/reject`,
      post({ reason: "not ready" }),
    );
    expect(rejected.status).toBe(200);
    const late = await asOne("carol", `/admin/approvals/${request.requestId}/approve`, { method: "POST" });
    expect(late.status).toBe(409);
    expect((await strategyOf(id)).state).toBe("paper");
  });
});
