import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { GovernorState } from "../src/governor-state";
import type { RiskGovernor } from "../src/risk-governor";
import { freshMark, intentMaker, risk, strategyActor, testEnv } from "./worker-helpers";

const intent = intentMaker("inv", { strategyId: "i1", market: "MKT-I", quantity: 10 });

describe("risk unable to evaluate", () => {
  it("denies with internal_error and reports an invariant violation to the breaker (CAUTION at the first)", async () => {
    await risk().recordMarks([freshMark("MKT-I", "0.50")]);
    // The stored limits stop parsing (a corrupted value): the governor can no longer evaluate anything.
    await runInDurableObject(testEnv.RISK_GOVERNOR.getByName("portfolio"), async (instance: RiskGovernor) => {
      (instance as unknown as { st: GovernorState }).st.parsed = null;
    });
    const r = await risk().evaluate(intent(), strategyActor, "decide_and_consume");
    expect(r).toMatchObject({ ok: false, error: { code: "internal_error" } });
    const breaker = await risk().getBreaker();
    expect(breaker).toMatchObject({
      ok: true,
      value: { state: "CAUTION", consecutiveFailures: { invariant_violation: 1 } },
    });
  });
});
