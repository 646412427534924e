// End to end through the real workers: each two-person action is refused without approval, requested by a
// person, approved by two others, and applied by the owning worker, which redeems the desk's receipt once.
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Approved,
  accessToken,
  adminFetch,
  asPerson,
  gateway,
  newSigner,
  twoPersonApproval,
} from "./helpers";

type Envelope = {
  error: { code: string; message: string; details?: { action?: string; payload?: unknown } };
};

const people: Record<string, string> = {};
beforeAll(async () => {
  const signer = await newSigner(true);
  for (const name of ["alice", "bob", "carol"])
    people[name] = await accessToken(signer, `${name}@example.com`);
});

function as(name: string, path: string, method = "POST", body?: unknown): Promise<Response> {
  return gateway().fetch(`https://gw.test${path}`, {
    method,
    headers: asPerson(people[name]!),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body) });

describe("raising a risk limit (capital-allocation increase)", () => {
  it("answers approval_required with the exact payload, then applies it after two approvals", async () => {
    const before = (await (await adminFetch("/admin/risk/limits")).json()) as {
      version: number;
      limits: Record<string, unknown>;
    };
    const raised = { ...before.limits, maxPositionPct: "6" };
    const refused = await adminFetch("/admin/risk/limits", json("PUT", raised));
    expect(refused.status).toBe(403);
    const envelope = (await refused.json()) as Envelope;
    expect(envelope.error.code).toBe("approval_required");
    expect(envelope.error.details?.action).toBe("risk.limits_increase");
    expect(envelope.error.details?.payload).toEqual({ limits: raised });
    // Refused means unchanged.
    expect(((await (await adminFetch("/admin/risk/limits")).json()) as { version: number }).version).toBe(
      before.version,
    );

    const approved = await twoPersonApproval("risk.limits_increase", envelope.error.details!.payload);
    expect(approved.applied?.ok).toBe(true);
    expect(approved.request.status).toBe("executed");
    const after = (await (await adminFetch("/admin/risk/limits")).json()) as {
      version: number;
      limits: { maxPositionPct: string };
    };
    expect(after.limits.maxPositionPct).toBe("6");
    expect(after.version).toBe(before.version + 1);
  });

  it("applies exactly the approved raise; a later, different raise needs a new approval", async () => {
    const current = (await (await adminFetch("/admin/risk/limits")).json()) as {
      limits: Record<string, unknown>;
    };
    const approvedPayload = { limits: { ...current.limits, maxConcentrationPct: "11" } };
    const requested = await as("alice", "/admin/approvals", "POST", {
      action: "risk.limits_increase",
      payload: approvedPayload,
    });
    const { requestId } = (await requested.json()) as { requestId: string };
    await as("bob", `/admin/approvals/${requestId}/approve`);
    const done = (await (await as("carol", `/admin/approvals/${requestId}/approve`)).json()) as Approved;
    expect(done.applied?.ok).toBe(true);
    // A second, different raise is a new request: the spent receipt cannot carry it.
    const again = await adminFetch(
      "/admin/risk/limits",
      json("PUT", { ...current.limits, maxConcentrationPct: "12" }),
    );
    expect(again.status).toBe(403);
    const after = (await (await adminFetch("/admin/risk/limits")).json()) as {
      limits: { maxConcentrationPct: string };
    };
    expect(after.limits.maxConcentrationPct).toBe("11");
  });
});

describe("execution policy to live", () => {
  it("is refused without approval, applied after two approvals, and reverts to paper at once", async () => {
    const change = { scope: "global", mode: "live" };
    const refused = await adminFetch("/admin/execution/policy", json("PUT", change));
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Envelope).error.details?.action).toBe("execution.policy_live");
    expect(((await (await adminFetch("/admin/execution/policy")).json()) as { global: string }).global).toBe(
      "paper",
    );

    const approved = await twoPersonApproval("execution.policy_live", change);
    expect(approved.applied?.ok).toBe(true);
    expect(((await (await adminFetch("/admin/execution/policy")).json()) as { global: string }).global).toBe(
      "live",
    );

    const back = await adminFetch("/admin/execution/policy", json("PUT", { scope: "global", mode: "paper" }));
    expect(back.status).toBe(200);
    expect(((await (await adminFetch("/admin/execution/policy")).json()) as { global: string }).global).toBe(
      "paper",
    );
  });
});

describe("circuit breaker RECOVERY → NORMAL", () => {
  it("needs two people; HALT and RECOVERY do not", async () => {
    const transition = (body: unknown) => adminFetch("/admin/circuit-breaker/transition", json("POST", body));
    const breaker = async () =>
      (await (await adminFetch("/admin/circuit-breaker")).json()) as { state: string; version: number };
    // Every transition but HALT names the version it acts on (read first, as the CLI and the console do).
    const recover = async (reason: string) =>
      transition({ targetState: "RECOVERY", reason, expectedVersion: (await breaker()).version });
    expect((await transition({ targetState: "HALT", reason: "drill" })).status).toBe(200);
    expect((await recover("drill over")).status).toBe(200);
    const refused = await transition({ targetState: "NORMAL", reason: "all clear" });
    expect(refused.status).toBe(403);
    const envelope = (await refused.json()) as Envelope;
    expect(envelope.error.code).toBe("approval_required");
    const recovery = await breaker();
    expect(recovery.state).toBe("RECOVERY");
    // The payload to request names this RECOVERY's version.
    expect(envelope.error.details).toMatchObject({
      action: "breaker.recovery_to_normal",
      payload: { targetState: "NORMAL", reason: "all clear", expectedVersion: recovery.version },
    });
    // An approval request without the version is refused by the desk (it could end any later recovery).
    const unbound = await as("alice", "/admin/approvals", "POST", {
      action: "breaker.recovery_to_normal",
      payload: { targetState: "NORMAL", reason: "x" },
    });
    expect(unbound.status).toBe(400);

    // Approved for this RECOVERY, but a new failure (HALT) and a new RECOVERY come first: it cannot end that one.
    const stale = await twoPersonApproval("breaker.recovery_to_normal", {
      targetState: "NORMAL",
      reason: "all clear",
      expectedVersion: recovery.version,
    });
    expect(stale.applied?.ok).toBe(true); // applied at once while this RECOVERY still stood
    expect((await breaker()).state).toBe("NORMAL");
    expect((await transition({ targetState: "HALT", reason: "second incident" })).status).toBe(200);
    expect((await recover("second incident over")).status).toBe(200);
    const second = await breaker();
    const late = await transition({
      targetState: "NORMAL",
      reason: "all clear",
      expectedVersion: recovery.version,
    });
    expect(late.status).toBe(409); // the old version: refused, whatever approvals it had
    const approved = await twoPersonApproval("breaker.recovery_to_normal", {
      targetState: "NORMAL",
      reason: "second all clear",
      expectedVersion: second.version,
    });
    expect(approved.applied?.ok).toBe(true);
    expect((await breaker()).state).toBe("NORMAL");
  });
});

describe("raising the capital base (capital-allocation increase)", () => {
  it("is refused without approval and applied after two people approve; lowering is immediate", async () => {
    const exposure = async () =>
      (await (await adminFetch("/admin/risk/exposure")).json()) as Record<string, unknown>;
    const before = JSON.stringify(await exposure());
    const refused = await adminFetch("/admin/risk/capital", json("PUT", { equity: "250000.00" }));
    expect(refused.status).toBe(403);
    const envelope = (await refused.json()) as Envelope;
    expect(envelope.error.details).toEqual({
      action: "risk.capital_increase",
      payload: { equity: "250000.00" },
    });
    expect(JSON.stringify(await exposure())).toBe(before);

    const approved = await twoPersonApproval("risk.capital_increase", { equity: "250000.00" });
    expect(approved.applied).toMatchObject({ ok: true, value: { equity: "250000.00" } });

    const lowered = await adminFetch("/admin/risk/capital", json("PUT", { equity: "200000.00" }));
    expect(lowered.status).toBe(200);
    expect(((await lowered.json()) as { previousEquity: string }).previousEquity).toBe("250000.00");
  });
});
