import { env } from "cloudflare:workers";
import type { ApprovalView, JsonValue, RiskLimits } from "@paulp/contracts";
import { beforeEach, describe, expect, it } from "vitest";
import type { ApprovalDesk } from "../src/approval-desk";
import { alice, auditDouble, auditTypes, bob, carol, dave, gov, person, TOKEN } from "./helpers";

const limits: RiskLimits = {
  maxPositionPct: "6",
  maxConcentrationPct: "10",
  maxMarketExposurePct: "15",
  maxCategoryExposurePct: "30",
  maxDailyLossPct: "3",
  maxDrawdownPct: "10",
  maxOrderQuantity: 100,
  maxOrderNotional: "1000",
  maxOrdersPerMinute: 10,
  maxMarkAgeSeconds: 60,
  correlationGroups: {},
};
const payload = { limits };

async function openRequest(requester = alice): Promise<ApprovalView> {
  const opened = await gov().requestApproval({ action: "risk.limits_increase", payload }, requester);
  if (!opened.ok) throw new Error(`request failed: ${opened.error.message}`);
  return opened.value;
}

async function approvedRequest() {
  const request = await openRequest();
  const first = await gov().approve(request.requestId, bob);
  expect(first.ok && first.value.receipt).toBe(null);
  const second = await gov().approve(request.requestId, carol);
  if (!second.ok || !second.value.receipt) throw new Error("threshold not reached");
  return { request, receipt: second.value.receipt };
}

/** The desk object itself, to pass a clock other than now (its stub's RPC-wrapped types do not narrow). */
const deskStub = () =>
  env.APPROVAL_DESK.get(env.APPROVAL_DESK.idFromName("desk")) as unknown as Pick<
    ApprovalDesk,
    "approve" | "redeem"
  >;

beforeEach(async () => {
  await auditDouble()._reset();
});

describe("approval desk: the happy path", () => {
  it("request → first approval → second approval mints one receipt that redeems once", async () => {
    const request = await openRequest();
    expect(request.status).toBe("pending");
    expect(request.payloadHash).toMatch(/^[0-9a-f]{64}$/);
    expect(request.requestedBy).toBe("alice@example.com");

    const first = await gov().approve(request.requestId, bob);
    expect(first.ok && first.value.request.approvals.map((a) => a.approver)).toEqual(["bob@example.com"]);
    expect(first.ok && first.value.request.status).toBe("pending");

    const second = await gov().approve(request.requestId, carol);
    if (!second.ok) throw new Error(second.error.message);
    expect(second.value.request.status).toBe("approved");
    expect(second.value.receipt?.requestId).toBe(request.requestId);

    const redeemed = await gov().redeemReceipt(second.value.receipt!, "risk.limits_increase", payload, bob);
    if (!redeemed.ok) throw new Error(redeemed.error.message);
    expect(redeemed.value).toMatchObject({
      requestId: request.requestId,
      action: "risk.limits_increase",
      payloadHash: request.payloadHash,
      policyVersion: 2,
      approvers: ["bob@example.com", "carol@example.com"],
      requestedBy: "alice@example.com",
    });

    const again = await gov().redeemReceipt(second.value.receipt!, "risk.limits_increase", payload, bob);
    expect(again.ok).toBe(false);
    expect(!again.ok && again.error.code).toBe("approval_required");
    expect(!again.ok && again.error.message).toMatch(/already executed/);

    const got = await gov().getApproval(request.requestId);
    expect(got.ok && got.value.status).toBe("executed");
    expect(await auditTypes()).toEqual([
      "governance.approval_requested",
      "governance.approval_recorded",
      "governance.approval_granted",
      "governance.approval_executed",
      "governance.approval_refused",
    ]);
  });
});

describe("approval desk: who may approve", () => {
  it("refuses self-approval, counts nothing, and audits the refusal with its reason", async () => {
    const request = await openRequest();
    const self = await gov().approve(request.requestId, alice);
    expect(self.ok).toBe(false);
    expect(!self.ok && self.error.code).toBe("forbidden");
    expect(!self.ok && self.error.message).toMatch(/requester cannot approve/);
    // Same person under another Access subject but the same email is still the requester.
    const sameEmail = await gov().approve(request.requestId, {
      method: "access",
      subject: "other-sub",
      email: "ALICE@example.com",
    });
    expect(!sameEmail.ok && sameEmail.error.message).toMatch(/requester cannot approve/);
    // And under a plus tag, another subject: an alias of the requester is the requester.
    const alias = await gov().approve(request.requestId, {
      method: "access",
      subject: "alias-sub",
      email: "alice+second@example.com",
    });
    expect(!alias.ok && alias.error.message).toMatch(/requester cannot approve/);
    const got = await gov().getApproval(request.requestId);
    expect(got.ok && got.value.approvals).toEqual([]);
    expect(await auditTypes()).toEqual([
      "governance.approval_requested",
      "governance.approval_refused",
      "governance.approval_refused",
      "governance.approval_refused",
    ]);
    const refusal = (await auditDouble()._events()).find((e) => e.type === "governance.approval_refused");
    expect(refusal).toMatchObject({
      actor: alice,
      payload: {
        step: "approve",
        requestId: request.requestId,
        action: "risk.limits_increase",
        code: "forbidden",
        outcome: "denied",
        reason: expect.stringMatching(/requester cannot approve/),
      },
    });
  });

  it("counts the same person once however often they approve", async () => {
    const request = await openRequest();
    expect((await gov().approve(request.requestId, bob)).ok).toBe(true);
    const twice = await gov().approve(request.requestId, bob);
    expect(!twice.ok && twice.error.code).toBe("conflict");
    expect(!twice.ok && twice.error.message).toMatch(/counts once/);
    const sameSubject = await gov().approve(request.requestId, {
      method: "access",
      subject: bob.subject,
      email: "bob.alias@example.com",
    });
    expect(!sameSubject.ok && sameSubject.error.message).toMatch(/counts once/);
    // A plus tag under another subject is bob's mailbox: still bob (and refused as such, not as off-roster).
    const plusAlias = await gov().approve(request.requestId, {
      method: "access",
      subject: "sub-bob-plus",
      email: "Bob+Second@Example.com",
    });
    expect(!plusAlias.ok && plusAlias.error.code).toBe("conflict");
    expect(!plusAlias.ok && plusAlias.error.message).toMatch(
      /bob\+second@example\.com is bob@example\.com.*counts once/,
    );
    const got = await gov().getApproval(request.requestId);
    expect(got.ok && got.value.status).toBe("pending");
    expect(got.ok && got.value.approvals).toHaveLength(1);
    expect(await auditTypes()).toEqual([
      "governance.approval_requested",
      "governance.approval_recorded",
      "governance.approval_refused",
      "governance.approval_refused",
      "governance.approval_refused",
    ]);
  });

  it("refuses the admin token, system actors and identities without a verified email", async () => {
    const byToken = await gov().requestApproval({ action: "risk.limits_increase", payload }, TOKEN);
    expect(!byToken.ok && byToken.error.code).toBe("forbidden");
    expect(!byToken.ok && byToken.error.message).toMatch(/admin token cannot/);

    const request = await openRequest();
    for (const actor of [
      TOKEN,
      { method: "system" as const, subject: "cron:risk" },
      { method: "access" as const, subject: "no-email" },
    ]) {
      const res = await gov().approve(request.requestId, actor);
      expect(!res.ok && res.error.code).toBe("forbidden");
    }
    const got = await gov().getApproval(request.requestId);
    expect(got.ok && got.value.approvals).toEqual([]);
    expect(await auditTypes()).toEqual([
      "governance.approval_refused",
      "governance.approval_requested",
      "governance.approval_refused",
      "governance.approval_refused",
      "governance.approval_refused",
    ]);
  });

  it("refuses a person who is not on the action's roster, whatever they are called", async () => {
    const request = await openRequest();
    for (const outsider of [
      person("erin"),
      { method: "access" as const, subject: "sub-x", email: "carol.x@example.com" },
    ]) {
      const res = await gov().approve(request.requestId, outsider);
      expect(!res.ok && res.error.code).toBe("forbidden");
      expect(!res.ok && res.error.message).toMatch(/is not on the approver roster of risk\.limits_increase/);
    }
    const got = await gov().getApproval(request.requestId);
    expect(got.ok && got.value.approvals).toEqual([]);
    // Two people on it still approve.
    expect((await gov().approve(request.requestId, dave)).ok).toBe(true);
    const second = await gov().approve(request.requestId, carol);
    expect(second.ok && second.value.request.status).toBe("approved");
  });

  it("a rejected request cannot be approved or redeemed", async () => {
    const request = await openRequest();
    await gov().approve(request.requestId, bob);
    const rejected = await gov().reject(request.requestId, "limits too high", carol);
    expect(rejected.ok && rejected.value.status).toBe("rejected");
    expect(rejected.ok && rejected.value.rejection?.reason).toBe("limits too high");
    const late = await gov().approve(request.requestId, dave);
    expect(!late.ok && late.error.code).toBe("conflict");
    expect(!late.ok && late.error.message).toMatch(/rejected/);
    const reissue = await gov().reissueReceipt(request.requestId, bob);
    expect(reissue.ok).toBe(false);
    const got = await gov().getApproval(request.requestId);
    expect(got.ok && got.value.approvals).toHaveLength(1);
    expect(await auditTypes()).toEqual([
      "governance.approval_requested",
      "governance.approval_recorded",
      "governance.approval_rejected",
      "governance.approval_refused",
      "governance.approval_refused",
    ]);
  });

  it("the token cannot reject either", async () => {
    const request = await openRequest();
    const res = await gov().reject(request.requestId, "no", TOKEN);
    expect(!res.ok && res.error.code).toBe("forbidden");
    const got = await gov().getApproval(request.requestId);
    expect(got.ok && got.value.status).toBe("pending");
  });
});

describe("approval desk: time", () => {
  it("refuses an approval after the approval TTL and records the expiry", async () => {
    const request = await openRequest();
    const later = Date.parse(request.expiresAt) + 1;
    const res = await deskStub().approve(request.requestId, bob, later, "f".repeat(64));
    expect(!res.ok && res.error.code).toBe("conflict");
    expect(!res.ok && res.error.message).toMatch(/expired \(approval_ttl\)/);
    const got = await gov().getApproval(request.requestId);
    expect(got.ok && got.value.status).toBe("expired");
    expect(got.ok && got.value.approvals).toEqual([]);
    expect(await auditTypes()).toEqual([
      "governance.approval_requested",
      "governance.approval_expired",
      "governance.approval_refused",
    ]);
    // Still expired for a later approver on the real clock path too.
    const now = await gov().approve(request.requestId, carol);
    expect(!now.ok && now.error.message).toMatch(/expired/);
  });

  it("refuses a receipt after the execute window", async () => {
    const { request, receipt } = await approvedRequest();
    const got = await gov().getApproval(request.requestId);
    if (!got.ok || !got.value.executeBy) throw new Error("no execute window");
    const { sha256Hex, canonicalHash } = await import("@paulp/kit");
    const tokenHash = await sha256Hex(`paulp.approval.receipt.v1\n${receipt.receiptToken}`);
    const payloadHash = await canonicalHash("paulp.approval.payload.v1", payload);
    const late = await deskStub().redeem(
      request.requestId,
      { tokenHash, action: "risk.limits_increase", payloadHash, actor: bob },
      Date.parse(got.value.executeBy) + 1,
    );
    expect(!late.ok && late.error.code).toBe("approval_required");
    expect(!late.ok && late.error.message).toMatch(/expired \(execute_window\)/);
    // The same claim inside the window would have passed: it is the time that refused it.
    const after = await gov().redeemReceipt(receipt, "risk.limits_increase", payload, bob);
    expect(after.ok).toBe(false);
    const view = await gov().getApproval(request.requestId);
    expect(view.ok && view.value.status).toBe("expired");
    expect(view.ok && view.value.expiredReason).toBe("execute_window");
  });
});

describe("approval desk: receipts", () => {
  it("refuses a changed payload, another action, a wrong token or no receipt, without consuming it", async () => {
    const { receipt } = await approvedRequest();
    const changed = await gov().redeemReceipt(
      receipt,
      "risk.limits_increase",
      { limits: { ...limits, maxPositionPct: "60" } },
      bob,
    );
    expect(!changed.ok && changed.error.code).toBe("approval_required");
    expect(!changed.ok && changed.error.message).toMatch(/payload differs/);
    const otherAction = await gov().redeemReceipt(receipt, "execution.policy_live", payload, bob);
    expect(!otherAction.ok && otherAction.error.message).toMatch(/approved for risk.limits_increase/);
    const wrongToken = await gov().redeemReceipt(
      { ...receipt, receiptToken: `${receipt.receiptToken.slice(0, -2)}xx` },
      "risk.limits_increase",
      payload,
      bob,
    );
    expect(!wrongToken.ok && wrongToken.error.message).toMatch(/unknown receipt token/);
    const none = await gov().redeemReceipt(undefined as never, "risk.limits_increase", payload, bob);
    expect(!none.ok && none.error.code).toBe("approval_required");
    const unknown = await gov().redeemReceipt(
      { requestId: "apr_nope", receiptToken: "x".repeat(40) },
      "risk.limits_increase",
      payload,
      bob,
    );
    expect(!unknown.ok && unknown.error.message).toMatch(/unknown request/);
    const types = await auditTypes();
    expect(types.filter((t) => t === "governance.approval_executed")).toHaveLength(0);
    // None of the refusals consumed it.
    const good = await gov().redeemReceipt(receipt, "risk.limits_increase", payload, bob);
    expect(good.ok).toBe(true);
  });

  it("the payload hash is canonical: key order does not matter", async () => {
    const { receipt } = await approvedRequest();
    const reordered = { limits: Object.fromEntries(Object.entries(limits).reverse()) };
    const res = await gov().redeemReceipt(receipt, "risk.limits_increase", reordered, bob);
    expect(res.ok).toBe(true);
  });

  it("a reissued receipt replaces the old one (execute re-run)", async () => {
    const { request, receipt } = await approvedRequest();
    const byToken = await gov().reissueReceipt(request.requestId, TOKEN);
    expect(!byToken.ok && byToken.error.code).toBe("forbidden");
    const fresh = await gov().reissueReceipt(request.requestId, alice);
    if (!fresh.ok || !fresh.value.receipt) throw new Error("no reissue");
    const old = await gov().redeemReceipt(receipt, "risk.limits_increase", payload, bob);
    expect(!old.ok && old.error.message).toMatch(/unknown receipt token/);
    expect((await gov().redeemReceipt(fresh.value.receipt, "risk.limits_increase", payload, bob)).ok).toBe(
      true,
    );
  });
});

describe("approval desk: a receipt given back after a failed apply", () => {
  const system = { method: "system" as const, subject: "risk" };

  it("returns the approval (audited), once, only with the redeemed token; a person re-runs it", async () => {
    const { request, receipt } = await approvedRequest();
    // Not yet redeemed: nothing to give back.
    const early = await gov().returnReceipt(receipt, "apply failed: audit down", system);
    expect(!early.ok && early.error.message).toMatch(/request is approved, not executed/);
    expect((await gov().redeemReceipt(receipt, "risk.limits_increase", payload, system)).ok).toBe(true);
    const wrong = await gov().returnReceipt(
      { ...receipt, receiptToken: `${receipt.receiptToken.slice(0, -2)}xx` },
      "apply failed",
      system,
    );
    expect(!wrong.ok && wrong.error.message).toMatch(/not the receipt that executed it/);
    const back = await gov().returnReceipt(receipt, "apply failed: audit down", system);
    expect(back).toEqual({ ok: true, value: { requestId: request.requestId, status: "approved" } });
    const events = await auditDouble()._events();
    const returned = events.find((e) => e.type === "governance.receipt_returned");
    expect(returned?.payload).toMatchObject({
      requestId: request.requestId,
      returnedBy: "system:risk",
      reason: "apply failed: audit down",
    });
    // Once only, and the returned token does not redeem again: a person must re-run it.
    const twice = await gov().returnReceipt(receipt, "again", system);
    expect(!twice.ok && twice.error.message).toMatch(/request is approved, not executed/);
    const reused = await gov().redeemReceipt(receipt, "risk.limits_increase", payload, system);
    expect(!reused.ok && reused.error.message).toMatch(/unknown receipt token/);
    const view = await gov().getApproval(request.requestId);
    expect(view.ok && view.value).toMatchObject({ status: "approved", executedAt: null });
    const fresh = await gov().reissueReceipt(request.requestId, alice);
    if (!fresh.ok || !fresh.value.receipt) throw new Error("no reissue");
    expect((await gov().redeemReceipt(fresh.value.receipt, "risk.limits_increase", payload, system)).ok).toBe(
      true,
    );
    // The fresh token's redemption is returnable, the first one's is not.
    const stale = await gov().returnReceipt(receipt, "apply failed", system);
    expect(!stale.ok && stale.error.message).toMatch(/not the receipt that executed it/);
  });

  it("is refused after the execute window, and when its audit fails (the approval stays spent)", async () => {
    const { request, receipt } = await approvedRequest();
    expect((await gov().redeemReceipt(receipt, "risk.limits_increase", payload, system)).ok).toBe(true);
    await auditDouble()._set({ failing: true });
    const down = await gov().returnReceipt(receipt, "apply failed", system);
    await auditDouble()._set({ failing: false });
    expect(!down.ok && down.error.code).toBe("audit_unavailable");
    expect((await gov().getApproval(request.requestId)).ok).toBe(true);
    const got = await gov().getApproval(request.requestId);
    if (!got.ok || !got.value.executeBy) throw new Error("no execute window");
    expect(got.value.status).toBe("executed");
    const { sha256Hex } = await import("@paulp/kit");
    const tokenHash = await sha256Hex(`paulp.approval.receipt.v1\n${receipt.receiptToken}`);
    const desk = env.APPROVAL_DESK.get(env.APPROVAL_DESK.idFromName("desk")) as unknown as Pick<
      ApprovalDesk,
      "returnReceipt"
    >;
    const late = await desk.returnReceipt(
      request.requestId,
      { tokenHash, reason: "apply failed", actor: system },
      Date.parse(got.value.executeBy),
    );
    expect(!late.ok && late.error.message).toMatch(/execute window has closed/);
    const still = await gov().getApproval(request.requestId);
    expect(still.ok && still.value.status).toBe("executed");
  });
});

describe("approval desk: races", () => {
  it("two approvals racing at the threshold mint exactly one receipt", async () => {
    for (let round = 0; round < 5; round++) {
      const request = await openRequest();
      await gov().approve(request.requestId, bob);
      // A slow audit append widens the window between reading the request and writing it.
      await auditDouble()._set({ delayMs: 30 });
      const results = await Promise.all([
        gov().approve(request.requestId, carol),
        gov().approve(request.requestId, dave),
      ]);
      const receipts = results.filter((r) => r.ok && r.value.receipt !== null);
      expect(receipts).toHaveLength(1);
      const loser = results.find((r) => !(r.ok && r.value.receipt !== null))!;
      expect(!loser.ok && loser.error.message).toMatch(/approved, not pending/);
      await auditDouble()._set({ delayMs: 0 });
      const got = await gov().getApproval(request.requestId);
      expect(got.ok && got.value.approvals).toHaveLength(2);
    }
    const granted = (await auditTypes()).filter((t) => t === "governance.approval_granted");
    expect(granted).toHaveLength(5);
  });

  it("two redemptions racing with one receipt execute exactly once", async () => {
    const { receipt } = await approvedRequest();
    await auditDouble()._set({ delayMs: 30 });
    const results = await Promise.all(
      [1, 2, 3].map(() => gov().redeemReceipt(receipt, "risk.limits_increase", payload, bob)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect((await auditTypes()).filter((t) => t === "governance.approval_executed")).toHaveLength(1);
  });
});

describe("approval desk: audit is fail-closed", () => {
  it("no request opens when the audit append fails", async () => {
    await auditDouble()._set({ failing: true });
    const res = await gov().requestApproval({ action: "risk.limits_increase", payload }, person("erin"));
    expect(!res.ok && res.error.code).toBe("audit_unavailable");
    await auditDouble()._set({ failing: false });
    const list = await gov().listApprovals({});
    expect(list.ok && list.value.filter((r) => r.requestedBy === "erin@example.com")).toEqual([]);
  });

  it("an approval is not counted and no receipt exists when its audit fails", async () => {
    const request = await openRequest();
    await gov().approve(request.requestId, bob);
    await auditDouble()._set({ failing: true });
    const res = await gov().approve(request.requestId, carol);
    expect(!res.ok && res.error.code).toBe("audit_unavailable");
    await auditDouble()._set({ failing: false });
    const got = await gov().getApproval(request.requestId);
    expect(got.ok && got.value.status).toBe("pending");
    expect(got.ok && got.value.approvals).toHaveLength(1);
  });

  it("a redemption does not consume the receipt when its audit fails", async () => {
    const { receipt } = await approvedRequest();
    await auditDouble()._set({ failing: true });
    const res = await gov().redeemReceipt(receipt, "risk.limits_increase", payload, bob);
    expect(!res.ok && res.error.code).toBe("audit_unavailable");
    await auditDouble()._set({ failing: false });
    expect((await gov().redeemReceipt(receipt, "risk.limits_increase", payload, bob)).ok).toBe(true);
  });
});

describe("approval desk: input", () => {
  it("validates the payload of each action", async () => {
    const bad = await gov().requestApproval(
      { action: "risk.limits_increase", payload: { limits: { maxPositionPct: 5 } } },
      alice,
    );
    expect(!bad.ok && bad.error.code).toBe("validation_failed");
    const paper = await gov().requestApproval(
      { action: "execution.policy_live", payload: { scope: "global", mode: "paper" } },
      alice,
    );
    expect(!paper.ok && paper.error.message).toMatch(/mode live/);
    const halt = await gov().requestApproval(
      { action: "breaker.recovery_to_normal", payload: { targetState: "HALT", reason: "x" } },
      alice,
    );
    expect(!halt.ok && halt.error.message).toMatch(/target NORMAL/);
    const unknown = await gov().requestApproval({ action: "delete.everything" as never, payload: {} }, alice);
    expect(!unknown.ok && unknown.error.code).toBe("validation_failed");
    const goLive = await gov().requestApproval({ action: "strategy.go_live", payload: {} }, alice);
    expect(!goLive.ok && goLive.error.message).toMatch(/go-live/);
    expect(await auditTypes()).toEqual([]);
  });

  it("lists by status and 404s an unknown id", async () => {
    const request = await openRequest();
    const pending = await gov().listApprovals({ status: "pending" });
    expect(pending.ok && pending.value.some((r) => r.requestId === request.requestId)).toBe(true);
    const executed = await gov().listApprovals({ status: "executed" });
    expect(executed.ok && executed.value.every((r) => r.status === "executed")).toBe(true);
    const bad = await gov().listApprovals({ status: "weird" as never });
    expect(!bad.ok && bad.error.code).toBe("validation_failed");
    const missing = await gov().getApproval("apr_missing");
    expect(!missing.ok && missing.error.code).toBe("not_found");
  });
});

describe("approval desk: the expiry alarm", () => {
  it("records an overdue request as expired in the audit chain", async () => {
    const { runDurableObjectAlarm, runInDurableObject } = await import("cloudflare:test");
    const request = await openRequest();
    const stub = env.APPROVAL_DESK.get(env.APPROVAL_DESK.idFromName("desk"));
    // Age the stored request instead of waiting a day.
    await runInDurableObject(stub, async (_instance, state) => {
      const key = `req:${request.requestId}`;
      const record = (await state.storage.get<Record<string, unknown>>(key))!;
      await state.storage.put(key, { ...record, expiresAt: Date.now() - 1 });
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const got = await gov().getApproval(request.requestId);
    expect(got.ok && got.value.status).toBe("expired");
    const events = await auditDouble()._events();
    const expired = events.filter((e) => e.type === "governance.approval_expired");
    expect(expired.map((e) => (e.payload as { requestId: string }).requestId)).toContain(request.requestId);
    expect(expired.every((e) => e.actor.subject === "governance:desk")).toBe(true);
  });
});

describe("approval desk: payload forms", () => {
  it("an undefined member hashes like an absent one (RPC keeps undefined, JSON drops it)", async () => {
    const opened = await gov().requestApproval(
      {
        action: "breaker.recovery_to_normal",
        payload: { targetState: "NORMAL", reason: "recovered", expectedVersion: 3 },
      },
      alice,
    );
    if (!opened.ok) throw new Error(opened.error.message);
    await gov().approve(opened.value.requestId, bob);
    const decision = await gov().approve(opened.value.requestId, carol);
    if (!decision.ok || !decision.value.receipt) throw new Error("no receipt");
    const withUndefined = { targetState: "NORMAL", reason: "recovered", expectedVersion: 3, note: undefined };
    const res = await gov().redeemReceipt(
      decision.value.receipt,
      "breaker.recovery_to_normal",
      withUndefined,
      bob,
    );
    expect(res.ok).toBe(true);
  });

  it("a payload JSON cannot carry is refused as invalid, not thrown", async () => {
    const { receipt } = await approvedRequest();
    const res = await gov().redeemReceipt(receipt, "risk.limits_increase", undefined, bob);
    expect(!res.ok && res.error.code).toBe("validation_failed");
  });
});

describe("approval desk: audit integrity", () => {
  it("refuses to open, approve, re-run or redeem unless the chain's integrity is ok; nothing is spent", async () => {
    const { request, receipt } = await approvedRequest();
    const pending = await openRequest();
    await gov().approve(pending.requestId, bob);
    for (const state of ["broken", "unknown"] as const) {
      await auditDouble()._set({ integrity: state });
      const opened = await gov().requestApproval({ action: "risk.limits_increase", payload }, alice);
      expect(!opened.ok && opened.error.code).toBe("integrity_not_ok");
      expect(!opened.ok && opened.error.message).toMatch(
        state === "broken" ? /is broken/ : /not yet verified/,
      );
      const approved = await gov().approve(pending.requestId, carol);
      expect(!approved.ok && approved.error.code).toBe("integrity_not_ok");
      const rerun = await gov().reissueReceipt(request.requestId, carol);
      expect(!rerun.ok && rerun.error.code).toBe("integrity_not_ok");
      const redeemed = await gov().redeemReceipt(receipt, "risk.limits_increase", payload, bob);
      expect(!redeemed.ok && redeemed.error.code).toBe("integrity_not_ok");
    }
    // An audit that cannot say is no better.
    await auditDouble()._set({ integrity: "unreachable" });
    const unreachable = await gov().approve(pending.requestId, carol);
    expect(!unreachable.ok && unreachable.error.code).toBe("audit_unavailable");
    const refusals = (await auditDouble()._events()).filter(
      (e) =>
        e.type === "governance.approval_refused" &&
        (e.payload as { code: string }).code === "integrity_not_ok",
    );
    expect(refusals.map((e) => (e.payload as { step: string }).step)).toEqual([
      "open",
      "approve",
      "reissue",
      "redeem",
      "open",
      "approve",
      "reissue",
      "redeem",
    ]);

    // Nothing moved meanwhile: once intact, the same approval counts and the same receipt redeems.
    await auditDouble()._set({ integrity: "ok" });
    const still = await gov().getApproval(pending.requestId);
    expect(still.ok && still.value.approvals).toHaveLength(1);
    expect((await gov().approve(pending.requestId, carol)).ok).toBe(true);
    expect((await gov().redeemReceipt(receipt, "risk.limits_increase", payload, bob)).ok).toBe(true);
  });
});

describe("approval desk: approver rosters", () => {
  const rosterOf = async (action: string) => {
    const listed = await gov().listRosters();
    if (!listed.ok) throw new Error(listed.error.message);
    return listed.value.find((l) => l.action === action)!.roster!;
  };

  it("the first roster of every action comes from config, once, audited", async () => {
    const roster = await rosterOf("risk.capital_increase");
    expect(roster).toMatchObject({
      approvers: ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"],
      version: expect.any(Number),
    });
    const again = await rosterOf("risk.capital_increase");
    expect(again).toEqual(roster);
  });

  it("refuses a request that the roster could never approve (the requester plus one other)", async () => {
    const current = await rosterOf("execution.policy_live");
    const change = {
      action: "execution.policy_live",
      approvers: ["alice@example.com", "erin@example.com"],
      version: current.version,
    };
    const { receipt, request } = await approvedChange(change);
    const applied = await gov().applyRosterChange(receipt, request.payload, carol);
    expect(applied.ok).toBe(true);
    // Alice and Erin only: Alice's own request would have one possible approver.
    const opened = await gov().requestApproval(
      { action: "execution.policy_live", payload: { scope: "global", mode: "live" } },
      alice,
    );
    expect(!opened.ok && opened.error.message).toMatch(
      /lists 1 people other than the requester; 2 are needed/,
    );
    // Someone else's request can be approved by both.
    const bobs = await gov().requestApproval(
      { action: "execution.policy_live", payload: { scope: "global", mode: "live" } },
      bob,
    );
    expect(bobs.ok).toBe(true);
  });

  it("a roster change is checked when requested and applied by compare-and-set on its version", async () => {
    const current = await rosterOf("risk.limits_increase");
    const tooFew = await gov().requestApproval(
      {
        action: "governance.roster_change",
        payload: {
          action: "risk.limits_increase",
          approvers: ["bob@gmail.com", "b.o.b+x@googlemail.com"],
          version: current.version,
        },
      },
      alice,
    );
    expect(!tooFew.ok && tooFew.error.message).toMatch(/at least 2 different people \(it names 1\)/);

    const change = {
      action: "risk.limits_increase",
      approvers: [
        "dave@example.com",
        "Carol@Example.com",
        "bob@example.com",
        "alice@example.com",
        "erin@example.com",
      ],
      version: current.version,
    };
    const first = await approvedChange(change);
    // The approved payload is canonical and sorted.
    expect((first.request.payload as { approvers: string[] }).approvers).toEqual([
      "alice@example.com",
      "bob@example.com",
      "carol@example.com",
      "dave@example.com",
      "erin@example.com",
    ]);
    const second = await approvedChange(change);
    const applied = await gov().applyRosterChange(first.receipt, first.request.payload, carol);
    if (!applied.ok) throw new Error(applied.error.message);
    expect(applied.value).toMatchObject({
      version: current.version + 1,
      source: "approval",
      requestId: first.request.requestId,
    });
    // The second approval was for the older roster: refused before its receipt is redeemed.
    const stale = await gov().applyRosterChange(second.receipt, second.request.payload, carol);
    expect(!stale.ok && stale.error.code).toBe("conflict");
    const view = await gov().getApproval(second.request.requestId);
    expect(view.ok && view.value.status).toBe("approved");
    expect(await auditTypes()).toContain("governance.roster_changed");
  });
});

/** A roster change requested by alice and approved by bob and carol: its request and receipt. */
async function approvedChange(payload: JsonValue) {
  const opened = await gov().requestApproval({ action: "governance.roster_change", payload }, alice);
  if (!opened.ok) throw new Error(opened.error.message);
  await gov().approve(opened.value.requestId, bob);
  const second = await gov().approve(opened.value.requestId, carol);
  if (!second.ok || !second.value.receipt) throw new Error("roster change not approved");
  return { request: second.value.request, receipt: second.value.receipt };
}
