import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import {
  type BreakerStatus,
  DEFAULT_RISK_LIMITS,
  PERCENT_LIMITS,
  type RiskDryRun,
  type RiskExposure,
  type RiskLimitsView,
} from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import { buildRouter } from "../src/router";
import { adminFetch, gateway } from "./helpers";

const intent = {
  strategyId: "s1",
  venue: "kalshi",
  market: "KXTEST-26",
  side: "buy",
  effect: "open",
  quantity: 10,
  limitPrice: "0.50",
  clientOrderId: "gw-eval-0001",
  evidenceHashes: ["d".repeat(64)],
};

async function withEnv(path: string, init: RequestInit, overrides: Partial<Env>) {
  const ctx = createExecutionContext();
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${env.ADMIN_TOKEN}`);
  const res = await buildRouter().fetch(
    new Request(`https://gw.test${path}`, { ...init, headers }),
    { ...env, ...overrides } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("risk admin routes", () => {
  it("GET /admin/risk/limits and /admin/risk/exposure answer the defaults and each limit's use", async () => {
    const limits = await adminFetch("/admin/risk/limits");
    expect(limits.status).toBe(200);
    const view = (await limits.json()) as RiskLimitsView;
    expect(view.version).toBe(1);
    // Risk starts with the contracts' defaults (their figures are checked against the spec in risk-rules).
    expect(view.limits).toEqual(DEFAULT_RISK_LIMITS);
    const exposure = await adminFetch("/admin/risk/exposure");
    expect(exposure.status).toBe(200);
    const x = (await exposure.json()) as RiskExposure;
    expect(x.equity).toBe("100000.00");
    expect(x.limits.map((l) => l.limit)).toEqual([...PERCENT_LIMITS]);
  });

  it("PUT /admin/risk/limits raising a limit answers 403 approval_required with the action and exact payload", async () => {
    const current = ((await (await adminFetch("/admin/risk/limits")).json()) as RiskLimitsView).limits;
    const raised = { ...current, maxPositionPct: "7" };
    const res = await adminFetch("/admin/risk/limits", { method: "PUT", body: JSON.stringify(raised) });
    expect(res.status).toBe(403);
    const body = (await res.json()) as {
      error: { code: string; details: { action: string; payload: unknown } };
    };
    expect(body.error.code).toBe("approval_required");
    expect(body.error.details).toMatchObject({ action: "risk.limits_increase", payload: { limits: raised } });
    expect(((await (await adminFetch("/admin/risk/limits")).json()) as RiskLimitsView).version).toBe(1);
    const bad = await adminFetch("/admin/risk/limits", {
      method: "PUT",
      body: JSON.stringify({ ...current, maxPositionPct: "lots" }),
    });
    expect(bad.status).toBe(400);
  });

  it("POST /admin/risk/evaluate tries an intent without acting: a dry run with reasons, nothing to consume", async () => {
    const res = await adminFetch("/admin/risk/evaluate", { method: "POST", body: JSON.stringify(intent) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as RiskDryRun;
    expect(body).toMatchObject({ dryRun: true, approved: false, limitsVersion: 1 });
    expect(body.reasons.map((r) => r.code)).toEqual(["UNKNOWN_MARKET"]);
    expect("decisionId" in body).toBe(false);
    const bad = await adminFetch("/admin/risk/evaluate", {
      method: "POST",
      body: JSON.stringify({ ...intent, quantity: 0 }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
  });

  it("risk unreachable: /admin/risk/evaluate answers an error, never an approval", async () => {
    const throwing = { evaluate: async () => Promise.reject(new Error("binding unavailable")) };
    const res = await withEnv(
      "/admin/risk/evaluate",
      { method: "POST", body: JSON.stringify(intent) },
      { RISK: throwing as unknown as Env["RISK"] },
    );
    expect(res.status).toBe(503);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: { code: "service_unavailable" } });
    expect(body).not.toHaveProperty("approved");
    const silent = { evaluate: async () => undefined };
    const res2 = await withEnv(
      "/admin/risk/evaluate",
      { method: "POST", body: JSON.stringify(intent) },
      { RISK: silent as unknown as Env["RISK"] },
    );
    expect(res2.status).toBe(502);
    expect(await res2.json()).not.toHaveProperty("approved");
  });

  it("the specification's emergency halt curl (no content-type) halts; HALT → NORMAL is refused naming HALT", async () => {
    const before = (await (await adminFetch("/admin/circuit-breaker")).json()) as BreakerStatus;
    expect(before.state).toBe("NORMAL");
    // Exactly the documented curl: -X POST, bearer token, -d JSON body, no content-type.
    const res = await adminFetch("/admin/circuit-breaker/transition", {
      method: "POST",
      body: '{"targetState": "HALT", "reason": "Emergency halt"}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      state: "HALT",
      reason: "Emergency halt",
      changedBy: "token:admin-token",
      version: before.version + 1,
    });
    expect(await (await adminFetch("/admin/circuit-breaker")).json()).toMatchObject({ state: "HALT" });
    // The halt is in the audit chain with who did it and why.
    const status = await adminFetch("/admin/audit/status");
    expect(status.status).toBe(200);
    expect(((await status.json()) as { headSeq: number }).headSeq).toBeGreaterThan(0);
    const lines = (await (await adminFetch("/admin/audit/export")).text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const halt = lines.find((l) => l.kind === "entry" && l.type === "risk.breaker_transition");
    expect(halt).toMatchObject({
      service: "risk",
      actor: { method: "token", subject: "admin-token" },
      payload: { from: "NORMAL", to: "HALT", reason: "Emergency halt" },
    });
    const refused = await adminFetch("/admin/circuit-breaker/transition", {
      method: "POST",
      body: '{"targetState": "NORMAL", "reason": "too soon"}',
    });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      "current state HALT",
    );
  });

  it("a recover names the breaker version it acts on: missing 400, stale 409, both naming the current state and version", async () => {
    const post = (body: unknown) =>
      adminFetch("/admin/circuit-breaker/transition", { method: "POST", body: JSON.stringify(body) });
    expect((await post({ targetState: "HALT", reason: "first cause" })).status).toBe(200);
    const seen = (await (await adminFetch("/admin/circuit-breaker")).json()) as BreakerStatus;
    expect((await post({ targetState: "HALT", reason: "newer cause" })).status).toBe(200);
    const missing = await post({ targetState: "RECOVERY", reason: "first cause fixed" });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      error: {
        code: "validation_failed",
        details: { state: "HALT", version: seen.version + 1 },
        message: expect.stringContaining(`current HALT v${seen.version + 1}`),
      },
    });
    const stale = await post({
      targetState: "RECOVERY",
      reason: "first cause fixed",
      expectedVersion: seen.version,
    });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({
      error: { code: "conflict", details: { state: "HALT", version: seen.version + 1 } },
    });
    expect(await (await adminFetch("/admin/circuit-breaker")).json()).toMatchObject({
      state: "HALT",
      reason: "newer cause",
    });
    const current = await post({
      targetState: "RECOVERY",
      reason: "both causes fixed",
      expectedVersion: seen.version + 1,
    });
    expect(current.status).toBe(200);
    expect(await current.json()).toMatchObject({ state: "RECOVERY", version: seen.version + 2 });
  });

  it("bad transition bodies and unauthenticated calls change nothing", async () => {
    const before = (await (await adminFetch("/admin/circuit-breaker")).json()) as BreakerStatus;
    const notJson = await adminFetch("/admin/circuit-breaker/transition", {
      method: "POST",
      body: "{targetState: HALT",
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
    const badState = await adminFetch("/admin/circuit-breaker/transition", {
      method: "POST",
      body: '{"targetState": "OFF", "reason": "x"}',
    });
    expect(badState.status).toBe(400);
    const anon = await gateway().fetch("https://gw.test/admin/circuit-breaker/transition", {
      method: "POST",
      body: '{"targetState": "HALT", "reason": "x"}',
    });
    expect(anon.status).toBe(401);
    expect(((await (await adminFetch("/admin/circuit-breaker")).json()) as BreakerStatus).version).toBe(
      before.version,
    );
  });

  it("PUT /admin/risk/limits lowering a limit applies at once with a new version", async () => {
    const current = (await (await adminFetch("/admin/risk/limits")).json()) as RiskLimitsView;
    const lowered = { ...current.limits, maxCategoryExposurePct: "25" };
    const res = await adminFetch("/admin/risk/limits", { method: "PUT", body: JSON.stringify(lowered) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      version: current.version + 1,
      limits: lowered,
      updatedBy: "token:admin-token",
    });
    const x = (await (await adminFetch("/admin/risk/exposure")).json()) as RiskExposure;
    expect(x.limitsVersion).toBe(current.version + 1);
  });
});

describe("POST /admin/risk/audit-watch", () => {
  it("verifies the real audit chain and leaves a healthy breaker alone", async () => {
    const res = await adminFetch("/admin/risk/audit-watch", { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { verdict: string; checkedEntries: number };
    expect(body.verdict).toBe("intact");
    const breaker = (await (await adminFetch("/admin/circuit-breaker")).json()) as {
      consecutiveFailures: Record<string, number>;
    };
    expect(breaker.consecutiveFailures.audit_integrity_broken ?? 0).toBe(0);
  });
});
