import { describe, expect, it } from "vitest";
import {
  audit,
  freshMark,
  intentMaker,
  receiptChecks,
  risk,
  strategyActor,
  watchAudit,
} from "./worker-helpers";

const intent = intentMaker("rc", { strategyId: "s1", market: "MKT-R", quantity: 10 });

describe("risk keeps its audit receipts and the watch checks them", () => {
  it("a decision carries its receipt's hash; the watch asks the chain whether it still holds them", async () => {
    await risk().recordMarks([freshMark("MKT-R", "0.50")]);
    const decisions = [];
    for (let i = 0; i < 5; i++) {
      const r = await risk().evaluate(intent(), strategyActor, "decide");
      if (!r.ok) throw new Error(r.error.message);
      decisions.push(r.value);
    }
    // The stub's receipt for seq n has hash n in hex (marks and decisions are appended in order).
    for (const d of decisions) expect(d.auditHash).toBe(d.auditSeq.toString(16).padStart(64, "0"));
    expect(await watchAudit()).toMatchObject({ ok: true, value: { verdict: "intact", receiptsChecked: 5 } });
    const [call] = await receiptChecks();
    expect(call!.actor).toMatchObject({ method: "system" });
    expect(call!.receipts.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      decisions.map((d) => d.auditSeq).sort((a, b) => a - b),
    );
    expect(call!.receipts[0]).toEqual({ seq: decisions[4]!.auditSeq, hash: decisions[4]!.auditHash });
    expect((await risk().getBreaker()).ok && (await risk().getBreaker())).toMatchObject({
      value: { state: "NORMAL" },
    });
  });

  it("a receipt check that cannot answer counts as an audit failure", async () => {
    await audit()._set({ receiptCheck: "throw" });
    expect(await watchAudit()).toMatchObject({ ok: true, value: { verdict: "unavailable" } });
    const b = await risk().getBreaker();
    expect(b.ok && b.value.consecutiveFailures.audit_failure).toBe(1);
  });

  it("a chain that no longer holds a kept receipt (entries gone) halts trading", async () => {
    await audit()._truncate(0);
    const r = await watchAudit();
    expect(r).toMatchObject({ ok: true, value: { verdict: "broken" } });
    if (r.ok && r.value.verdict === "broken")
      expect(r.value.reason).toMatch(/no longer holds risk's receipt/);
    expect(await risk().getBreaker()).toMatchObject({ ok: true, value: { state: "HALT" } });
  });
});
