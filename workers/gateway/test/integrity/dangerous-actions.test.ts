// Dangerous actions while the audit chain's integrity is not `ok`, through the real workers. This file runs in
// its own mesh (the `integrity` project in vitest.config.ts): it breaks the chain, which must not leak into the
// other files' mesh. Each test builds on the one before.
import { env } from "cloudflare:workers";
import type { ApprovalDecision, AuditStatus, GovernanceRpc, Principal, RiskRpc } from "@paulp/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { insertForeignAnchor } from "../forged-anchor";
import {
  type AsPerson,
  adminFetch,
  approvalOf,
  goLive,
  paperStrategy,
  post,
  signIn,
  strategyOf,
} from "../helpers";

let as: AsPerson;
beforeAll(async () => {
  as = await signIn({ alice: "alice@example.com", bob: "bob@example.com", carol: "carol@example.com" });
});
const carol: Principal = { method: "access", subject: "sub-carol@example.com", email: "carol@example.com" };

async function integrity(): Promise<AuditStatus["integrity"]> {
  return ((await (await adminFetch("/admin/audit/status")).json()) as AuditStatus).integrity;
}

async function breaker(): Promise<{ state: string; version: number }> {
  return (await (await adminFetch("/admin/circuit-breaker")).json()) as { state: string; version: number };
}

async function expectLocked(res: Response): Promise<void> {
  expect(res.status).toBe(423);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe("integrity_not_ok");
}

/**
 * Break the chain as a sequencer restored to an older state would: D1_ANCHOR holds an anchor past the chain's
 * head. The audit worker reports integrity `broken` from then on.
 */
async function breakTheChain(): Promise<void> {
  const { headSeq, lastAnchor } = (await (await adminFetch("/admin/audit/status")).json()) as AuditStatus;
  await insertForeignAnchor(lastAnchor, { seq: headSeq + 1_000, hash: "e".repeat(64) });
}

let recoveryRequest = "";
let capitalRequest = "";
let capitalReceipt: ApprovalDecision["receipt"] = null;

describe("dangerous actions and the audit chain's integrity", () => {
  it("before the chain was ever verified, nothing dangerous can even be requested", async () => {
    expect(await integrity()).toBe("unknown");
    await expectLocked(
      await as(
        "alice",
        "/admin/approvals",
        post({ action: "execution.policy_live", payload: { scope: "global", mode: "live" } }),
      ),
    );
    const id = await paperStrategy("Integrity go-live");
    await expectLocked(await as("alice", `/admin/strategies/${id}/go-live`, await goLive(id)));
    expect(await strategyOf(id)).toMatchObject({ state: "paper", pendingRequestId: null });
    expect((await (await adminFetch("/admin/approvals")).json()) as unknown[]).toEqual([]);
  });

  it("once a verification passes, requests and approvals proceed", async () => {
    const verified = await adminFetch("/admin/audit/verify", { method: "POST" });
    expect(((await verified.json()) as { ok: boolean }).ok).toBe(true);
    expect(await integrity()).toBe("ok");

    const transition = (body: unknown) => adminFetch("/admin/circuit-breaker/transition", post(body));
    expect((await transition({ targetState: "HALT", reason: "drill" })).status).toBe(200);
    const halted = await breaker();
    expect(
      (await transition({ targetState: "RECOVERY", reason: "drill over", expectedVersion: halted.version }))
        .status,
    ).toBe(200);
    const recovery = await breaker();
    const opened = await as(
      "alice",
      "/admin/approvals",
      post({
        action: "breaker.recovery_to_normal",
        payload: { targetState: "NORMAL", reason: "all clear", expectedVersion: recovery.version },
      }),
    );
    expect(opened.status).toBe(201);
    recoveryRequest = ((await opened.json()) as { requestId: string }).requestId;
    expect((await as("bob", `/admin/approvals/${recoveryRequest}/approve`)).status).toBe(200);

    // A capital increase approved by two people whose receipt is not yet applied (held here, as the gateway holds
    // it between the approval and the applier).
    const capital = await as(
      "alice",
      "/admin/approvals",
      post({ action: "risk.capital_increase", payload: { equity: "250000.00" } }),
    );
    capitalRequest = ((await capital.json()) as { requestId: string }).requestId;
    expect((await as("bob", `/admin/approvals/${capitalRequest}/approve`)).status).toBe(200);
    const second = await (env.GOVERNANCE as unknown as GovernanceRpc).approve(capitalRequest, carol);
    if (!second.ok) throw new Error(second.error.message);
    capitalReceipt = second.value.receipt;
    expect(capitalReceipt).not.toBeNull();
  });

  it("while integrity is broken, nothing dangerous is requested, approved or applied", async () => {
    await breakTheChain();
    expect(await integrity()).toBe("broken");

    // At approval: RECOVERY → NORMAL is not approved, and the breaker stays in RECOVERY.
    await expectLocked(await as("carol", `/admin/approvals/${recoveryRequest}/approve`));
    const recovery = await approvalOf(recoveryRequest);
    expect(recovery.status).toBe("pending");
    expect(recovery.approvals.map((a) => a.approver)).toEqual(["bob@example.com"]);
    expect((await breaker()).state).toBe("RECOVERY");

    // At request.
    const id = await paperStrategy("Integrity broken go-live");
    await expectLocked(await as("alice", `/admin/strategies/${id}/go-live`, await goLive(id)));
    expect((await strategyOf(id)).state).toBe("paper");

    // At apply: the applier redeems right before it writes, and the redemption is refused; nothing is spent.
    const equity = async () =>
      ((await (await adminFetch("/admin/risk/exposure")).json()) as { equity: string }).equity;
    const before = await equity();
    const applied = await (env.RISK as unknown as RiskRpc).setCapital(
      { equity: "250000.00" },
      carol,
      capitalReceipt!,
    );
    expect(applied.ok).toBe(false);
    expect(!applied.ok && applied.error.code).toBe("integrity_not_ok");
    expect((await approvalOf(capitalRequest)).status).toBe("approved");
    expect(await equity()).toBe(before);
    expect(before).not.toBe("250000.00");

    // And the re-run route refuses too.
    await expectLocked(await as("carol", `/admin/approvals/${capitalRequest}/execute`));
    expect((await approvalOf(capitalRequest)).status).toBe("approved");
  });
});
