import type { AuditStatus, Result } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { audit, risk, watchAudit } from "./worker-helpers";

const overdue: Result<Partial<AuditStatus>> = {
  ok: true,
  value: {
    headSeq: 40,
    integrity: "ok",
    alerts: [
      {
        code: "anchor_overdue",
        severity: "warning",
        message: "12 entries are not anchored, the oldest for 95 minutes",
        since: null,
      },
    ],
  },
};

describe("a missing hourly anchor", () => {
  it("moves the breaker to CAUTION while overdue, and stops counting once anchoring caught up", async () => {
    await audit()._set({ status: overdue });
    expect(await watchAudit()).toMatchObject({ ok: true, value: { verdict: "intact", anchorOverdue: true } });
    let b = await risk().getBreaker();
    expect(b).toMatchObject({
      ok: true,
      value: { state: "CAUTION", consecutiveFailures: { audit_anchor_overdue: 1 } },
    });
    if (b.ok) expect(b.value.reason).toMatch(/audit_anchor_overdue x1: 12 entries are not anchored/);
    // Each run while overdue counts (HALT only after a day of it).
    await watchAudit();
    b = await risk().getBreaker();
    expect(b).toMatchObject({
      ok: true,
      value: { state: "CAUTION", consecutiveFailures: { audit_anchor_overdue: 2 } },
    });
    await audit()._set({ status: { ok: true, value: { headSeq: 41, integrity: "ok", alerts: [] } } });
    expect(await watchAudit()).toMatchObject({
      ok: true,
      value: { verdict: "intact", anchorOverdue: false },
    });
    b = await risk().getBreaker();
    expect(b.ok && b.value.consecutiveFailures.audit_anchor_overdue).toBeFalsy();
    expect(b.ok && b.value.state).toBe("CAUTION"); // an operator returns the desk to NORMAL
  });

  it("an audit status that cannot answer is an audit failure, never a pass", async () => {
    await audit()._set({ status: "throw" });
    expect(await watchAudit()).toMatchObject({ ok: true, value: { verdict: "unavailable" } });
    const b = await risk().getBreaker();
    expect(b.ok && b.value.consecutiveFailures.audit_failure).toBeGreaterThan(0);
  });
});
