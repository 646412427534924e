// How requests end, through the real workers: an apply that fails is not a success (non-2xx, the error
// envelope and the request as it stands), a go-live request and its strategy end together, and every
// refusal by the desk is in the audit chain with its reason.
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AsPerson,
  adminFetch,
  approvalOf,
  auditEntries,
  goLive,
  paperStrategy,
  post,
  signIn,
  strategyOf,
} from "./helpers";

let as: AsPerson;
beforeAll(async () => {
  as = await signIn({ alice: "alice@example.com", bob: "bob@example.com", carol: "carol@example.com" });
});

async function requestId(res: Response): Promise<string> {
  expect(res.status).toBe(201);
  const body = (await res.json()) as { requestId?: string; request?: { requestId: string } };
  return body.requestId ?? body.request!.requestId;
}

describe("an approved action whose apply fails", () => {
  it("answers the applier's status with the error envelope and the request, not 200", async () => {
    const id = await paperStrategy("Endings allocation", "500");
    const increase = (allocation: string) =>
      as(
        "alice",
        "/admin/approvals",
        post({ action: "strategy.allocation_increase", payload: { strategyId: id, allocation } }),
      );
    const smaller = await requestId(await increase("600"));
    const larger = await requestId(await increase("700"));
    for (const approver of ["bob", "carol"]) await as(approver, `/admin/approvals/${larger}/approve`);

    await as("bob", `/admin/approvals/${smaller}/approve`);
    const failed = await as("carol", `/admin/approvals/${smaller}/approve`);
    // 600 is no longer an increase over 700: refused by the applier, nothing applied.
    expect(failed.status).toBe(409);
    const body = (await failed.json()) as {
      error: { code: string; message: string };
      request: { requestId: string; status: string };
    };
    expect(body.error.code).toBe("conflict");
    expect(body.error.message).toMatch(/no longer an increase/);
    expect(body.request).toMatchObject({ requestId: smaller, status: "approved" });
    expect(JSON.stringify(body)).not.toMatch(/receiptToken/);
    const strategies = (await (await adminFetch("/admin/strategies")).json()) as {
      id: string;
      allocation: string;
    }[];
    expect(strategies.find((s) => s.id === id)?.allocation).toBe("700");
  });
});

describe("a go-live request and its strategy end together", () => {
  it("a rejected go-live takes the strategy back to paper", async () => {
    const id = await paperStrategy("Endings rejected");
    const req = await requestId(await as("alice", `/admin/strategies/${id}/go-live`, await goLive(id)));
    expect((await strategyOf(id)).state).toBe("pending_live");
    const rejected = await as("bob", `/admin/approvals/${req}/reject`, post({ reason: "not ready" }));
    expect(rejected.status).toBe(200);
    expect(await strategyOf(id)).toMatchObject({ state: "paper", pendingRequestId: null });
    const moves = await auditEntries("governance.strategy_changed");
    expect(
      moves.find(
        (e) => e.payload.strategyId === id && e.payload.requestId === req && e.payload.to === "paper",
      ),
    ).toMatchObject({
      payload: { from: "pending_live", requestStatus: "rejected" },
    });
  });

  it("a paused strategy whose resume is rejected goes back to paused, not to paper trading", async () => {
    const id = await paperStrategy("Endings resume");
    expect((await adminFetch(`/admin/strategies/${id}/pause`, { method: "POST" })).status).toBe(200);
    const req = await requestId(await as("alice", `/admin/strategies/${id}/go-live`, await goLive(id)));
    await as("alice", `/admin/approvals/${req}/reject`, post({ reason: "withdrawn" }));
    expect((await strategyOf(id)).state).toBe("paused");
  });

  it("pausing a pending_live strategy cancels its go-live request: no one can approve it any more", async () => {
    const id = await paperStrategy("Endings paused");
    const req = await requestId(await as("alice", `/admin/strategies/${id}/go-live`, await goLive(id)));
    expect((await as("bob", `/admin/approvals/${req}/approve`)).status).toBe(200);
    const paused = await adminFetch(`/admin/strategies/${id}/pause`, { method: "POST" });
    expect(paused.status).toBe(200);
    expect(await strategyOf(id)).toMatchObject({ state: "paused", pendingRequestId: null });
    const request = await approvalOf(req);
    expect(request.status).toBe("cancelled");
    expect(request.cancellation).toMatchObject({
      by: "token:admin-token",
      reason: "strategy moved to paused",
    });
    const late = await as("carol", `/admin/approvals/${req}/approve`);
    expect(late.status).toBe(409);
    expect((await strategyOf(id)).state).toBe("paused");
  });
});

describe("refusals by the desk are audited", () => {
  it("with the step, the reason and outcome denied", async () => {
    const id = await paperStrategy("Endings refusals");
    const req = await requestId(await as("alice", `/admin/strategies/${id}/go-live`, await goLive(id)));
    expect((await as("alice", `/admin/approvals/${req}/approve`)).status).toBe(403);
    await as("bob", `/admin/approvals/${req}/reject`, post({ reason: "no" }));
    expect((await as("carol", `/admin/approvals/${req}/reject`, post({ reason: "also no" }))).status).toBe(
      409,
    );
    const refused = (await auditEntries("governance.approval_refused")).filter(
      (e) => e.payload.requestId === req,
    );
    expect(refused.map((e) => [e.actor.email, e.payload.step, e.payload.code, e.payload.outcome])).toEqual([
      ["alice@example.com", "approve", "forbidden", "denied"],
      ["carol@example.com", "reject", "conflict", "denied"],
    ]);
    expect(refused[0]!.payload.reason).toMatch(/requester cannot approve/);
    expect(refused[1]!.payload.reason).toMatch(/rejected/);
  });
});
