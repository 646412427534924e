import { describe, expect, it } from "vitest";
import {
  audit,
  breakerStatus,
  freshMark,
  intentMaker,
  risk,
  strategyActor,
  watchAudit,
} from "./worker-helpers";

const intent = intentMaker("af", { strategyId: "s1", market: "MKT-F", quantity: 10 });

describe("intermittent audit failures", () => {
  it("add up to HALT although the chain verifies intact between them", async () => {
    await risk().recordMarks([freshMark("MKT-F", "0.50")]);
    for (const expected of ["CAUTION", "CAUTION", "HALT"] as const) {
      // One decision refused by the audit chain, then the chain answers again and the 5-minute watch runs.
      await audit()._set({ failing: true });
      expect(await risk().evaluate(intent(), strategyActor, "decide")).toMatchObject({
        ok: false,
        error: { code: "audit_unavailable" },
      });
      await audit()._set({ failing: false });
      expect((await breakerStatus()).state).toBe(expected);
      expect(await watchAudit()).toMatchObject({ ok: true, value: { verdict: "intact" } });
      expect((await risk().evaluate(intent(), strategyActor, "decide")).ok).toBe(true);
      // A success of the same kind does not clear them either: only an operator returning the desk to NORMAL.
      await risk().reportSuccess("audit_failure");
    }
    const b = await breakerStatus();
    expect(b).toMatchObject({ state: "HALT", consecutiveFailures: { audit_failure: 3 } });
    expect(b.reason).toMatch(/^audit_failure x3/);
  });
});
