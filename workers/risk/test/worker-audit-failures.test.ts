import type { AuditWatchOutcome, BreakerStatus } from "@paulp/contracts";
import { beforeEach, describe, expect, it } from "vitest";
import { audit, freshMark, intentMaker, risk, strategyActor } from "./worker-helpers";

const intent = intentMaker("af", { strategyId: "s1", market: "MKT-F", quantity: 10 });
const watch = () =>
  (risk() as unknown as { watchAudit(): Promise<{ ok: true; value: AuditWatchOutcome }> }).watchAudit();
const breaker = async (): Promise<BreakerStatus> => {
  const r = await risk().getBreaker();
  if (!r.ok) throw new Error("breaker unreadable");
  return r.value;
};

beforeEach(async () => {
  await audit().stubReset();
});

describe("intermittent audit failures", () => {
  it("add up to HALT although the chain verifies intact between them", async () => {
    await risk().recordMarks([freshMark("MKT-F", "0.50")]);
    for (const expected of ["CAUTION", "CAUTION", "HALT"] as const) {
      // One decision refused by the audit chain, then the chain answers again and the 5-minute watch runs.
      await audit().stubFail(true);
      expect(await risk().evaluateOrder(intent(), strategyActor)).toMatchObject({
        ok: false,
        error: { code: "audit_unavailable" },
      });
      await audit().stubFail(false);
      expect((await breaker()).state).toBe(expected);
      expect(await watch()).toMatchObject({ ok: true, value: { verdict: "intact" } });
      expect((await risk().evaluateOrder(intent(), strategyActor)).ok).toBe(true);
      // A success of the same kind does not clear them either: only an operator returning the desk to NORMAL.
      await risk().reportSuccess("audit_failure");
    }
    const b = await breaker();
    expect(b).toMatchObject({ state: "HALT", consecutiveFailures: { audit_failure: 3 } });
    expect(b.reason).toMatch(/^audit_failure x3/);
  });
});
