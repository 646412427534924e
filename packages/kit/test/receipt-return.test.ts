import type { GovernanceService, Principal } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { failedAfterRedeem, RedeemedButNotApplied, settleRedemption } from "../src/receipt-return";

const actor: Principal = { method: "system", subject: "risk" };
const receipt = { requestId: "apr_1", receiptToken: "tok" };
const failure = { code: "audit_unavailable", message: "limits not changed: audit down" };

/** A governance double whose returnReceipt answers `answer` (or never, for a pending promise). */
function governance(answer: Promise<unknown>) {
  const calls: unknown[][] = [];
  const g = {
    returnReceipt: (...args: unknown[]) => {
      calls.push(args);
      return answer;
    },
  } as unknown as GovernanceService;
  return { g, calls };
}

describe("giving a redeemed receipt back", () => {
  it("keeps the failure's code and says the approval was returned", async () => {
    const { g, calls } = governance(
      Promise.resolve({ ok: true, value: { requestId: "apr_1", status: "approved" } }),
    );
    const r = await failedAfterRedeem(g, receipt, failure, actor);
    expect(r).toEqual({
      ok: false,
      error: {
        code: "audit_unavailable",
        message:
          "limits not changed: audit down; approval apr_1 returned: re-run it with POST /admin/approvals/apr_1/execute within its execute window",
      },
    });
    expect(calls).toEqual([[receipt, "apply failed: limits not changed: audit down", actor]]);
  });

  it("says the approval is spent when the desk refuses the return", async () => {
    const { g } = governance(
      Promise.resolve({ ok: false, error: { code: "conflict", message: "window closed" } }),
    );
    const r = await failedAfterRedeem(g, receipt, failure, actor);
    expect(!r.ok && r.error.message).toMatch(/could not be returned \(window closed\): it is spent$/);
  });

  it("does not claim either way when the return does not answer in time", async () => {
    const { g } = governance(new Promise(() => {}));
    const r = await failedAfterRedeem(g, receipt, failure, actor, 20);
    expect(!r.ok && r.error.code).toBe("audit_unavailable");
    expect(!r.ok && r.error.message).toMatch(
      /did not answer .*GET \/admin\/approvals\/apr_1 says whether it was/,
    );
    expect(!r.ok && r.error.message).not.toMatch(/spent$/);
  });

  it("settles a queue's outcome: a plain result passes through, a RedeemedButNotApplied returns its receipt", async () => {
    const { g, calls } = governance(Promise.resolve({ ok: true, value: {} }));
    expect(await settleRedemption(g, actor, { ok: true, value: 1 })).toEqual({ ok: true, value: 1 });
    expect(await settleRedemption(g, actor, { ok: false, error: failure })).toEqual({
      ok: false,
      error: failure,
    });
    expect(calls).toHaveLength(0);
    const r = await settleRedemption(g, actor, new RedeemedButNotApplied(receipt, failure));
    expect(!r.ok && r.error.message).toMatch(/approval apr_1 returned/);
    expect(calls).toHaveLength(1);
  });
});
