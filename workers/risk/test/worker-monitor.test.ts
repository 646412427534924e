import { describe, expect, it } from "vitest";
import { freshMark, intentMaker, operator, risk, strategyActor, transitionAtCurrent } from "./worker-helpers";

// What monitoring reads from risk: the recent-decision log with its counters, and the breaker's history.
const intent = intentMaker("mon", { strategyId: "s1", market: "MKT-MON", quantity: 10 });

describe("recent decisions and counters", () => {
  it("logs recorded decisions with their reasons, newest first, and counts denials by code", async () => {
    const before = await risk().monitorStats();
    if (!before.ok) throw new Error(before.error.message);
    // No mark for this market: denied UNKNOWN_MARKET (twice); then a mark and one approval.
    const d1 = await risk().evaluate(intent({ market: "MKT-NONE" }), strategyActor, "decide");
    const d2 = await risk().evaluate(intent({ market: "MKT-NONE" }), strategyActor, "decide");
    await risk().recordMarks([freshMark("MKT-MON", "0.50")]);
    const a1 = await risk().evaluate(intent(), strategyActor, "decide");
    // A dry run is never recorded, so never logged or counted.
    await risk().evaluate(intent({ market: "MKT-NONE" }), strategyActor, "dry_run");
    if (!d1.ok || !d2.ok || !a1.ok) throw new Error("evaluation failed");
    expect(d1.value.approved).toBe(false);
    const code = d1.value.reasons[0]!.code;

    const all = await risk().recentDecisions({ limit: 3 });
    if (!all.ok) throw new Error(all.error.message);
    expect(all.value.decisions.map((d) => d.decisionId)).toEqual([
      a1.value.decisionId,
      d2.value.decisionId,
      d1.value.decisionId,
    ]);
    expect(all.value.decisions[1]).toMatchObject({
      approved: false,
      market: "MKT-NONE",
      reasons: [{ code }],
      auditSeq: d2.value.auditSeq,
    });
    const denied = await risk().recentDecisions({ deniedOnly: true, code, limit: 10 });
    if (!denied.ok) throw new Error(denied.error.message);
    expect(denied.value.decisions.every((d) => !d.approved && d.reasons.some((r) => r.code === code))).toBe(
      true,
    );

    const after = await risk().monitorStats();
    if (!after.ok) throw new Error(after.error.message);
    expect(after.value.decisions.approved - before.value.decisions.approved).toBe(1);
    expect(after.value.decisions.denied - before.value.decisions.denied).toBe(2);
    expect(
      (after.value.decisions.deniedByCode[code] ?? 0) - (before.value.decisions.deniedByCode[code] ?? 0),
    ).toBe(2);
  });

  it("refuses a malformed query", async () => {
    expect(await risk().recentDecisions({ limit: 0 })).toMatchObject({ ok: false });
    expect(await risk().recentDecisions({ code: "lower" })).toMatchObject({ ok: false });
  });
});

describe("breaker history", () => {
  it("keeps every transition with its trigger, newest first, and counts them by pair", async () => {
    const before = await risk().monitorStats();
    if (!before.ok) throw new Error(before.error.message);
    const halted = await risk().transitionBreaker({ targetState: "HALT", reason: "drill" }, operator);
    if (!halted.ok) throw new Error(halted.error.message);
    const recovering = await transitionAtCurrent("RECOVERY", "drill over");
    if (!recovering.ok) throw new Error(recovering.error.message);
    const history = await risk().breakerHistory(2);
    if (!history.ok) throw new Error(history.error.message);
    expect(history.value.transitions).toMatchObject([
      {
        from: "HALT",
        to: "RECOVERY",
        version: recovering.value.version,
        reason: "drill over",
        trigger: "operator",
      },
      { to: "HALT", version: halted.value.version, reason: "drill", changedBy: "token:admin-token" },
    ]);
    const after = await risk().monitorStats();
    if (!after.ok) throw new Error(after.error.message);
    expect(after.value.breaker.state).toBe("RECOVERY");
    expect(
      (after.value.transitions["HALT->RECOVERY"] ?? 0) - (before.value.transitions["HALT->RECOVERY"] ?? 0),
    ).toBe(1);
    expect(await risk().breakerHistory(0)).toMatchObject({ ok: false });
  });
});
