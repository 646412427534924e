import { runInDurableObject } from "cloudflare:test";
import { RiskReasonCode } from "@paulp/contracts";
import { canonicalHash } from "@paulp/kit";
import { describe, expect, it } from "vitest";
import type { GovernorState } from "../src/governor-state";
import type { RiskGovernor } from "../src/risk-governor";
import {
  audit,
  entriesOf,
  freshMark,
  intentMaker,
  risk,
  strategyActor,
  testEnv,
  transitionAtCurrent,
} from "./worker-helpers";

const intent = intentMaker("order", { strategyId: "s1", market: "MKT-A", quantity: 100 });

describe("evaluate over RPC", () => {
  it("appends the decision to the audit chain before returning it, bound to the intent hash", async () => {
    expect(await risk().recordMarks([freshMark("MKT-A", "0.50")])).toEqual({
      ok: true,
      value: { applied: 1 },
    });
    const i = intent();
    const r = await risk().evaluate(i, strategyActor, "decide");
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value).toMatchObject({ approved: true, reasons: [], limitsVersion: 1, breakerState: "NORMAL" });
    expect(r.value.intentHash).toBe(await canonicalHash("paulp.intent.v1", i));
    const [entry] = await entriesOf("risk.decision");
    expect(entry).toMatchObject({
      service: "risk",
      actor: strategyActor,
      payload: { decisionId: r.value.decisionId, approved: true, intentHash: r.value.intentHash },
    });
    expect(r.value.auditSeq).toBe(1);
    expect(Date.parse(r.value.expiresAt)).toBeGreaterThan(Date.now());
  });

  it("a decision is single use and refuses a different intent", async () => {
    const i = intent();
    const r = await risk().evaluate(i, strategyActor, "decide");
    if (!r.ok) throw new Error(r.error.message);
    const other = await canonicalHash("paulp.intent.v1", { ...i, quantity: 101 });
    expect(await risk().consume(r.value.decisionId, other)).toMatchObject({
      ok: false,
      error: { code: "conflict" },
    });
    expect(await risk().consume(r.value.decisionId, r.value.intentHash)).toMatchObject({
      ok: true,
      value: { decision: { decisionId: r.value.decisionId }, breaker: { state: "NORMAL" } },
    });
    expect(await risk().consume(r.value.decisionId, r.value.intentHash)).toMatchObject({
      ok: false,
      error: { code: "conflict", message: "decision already used" },
    });
    expect(await risk().consume("rd_unknownunknown", r.value.intentHash)).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
  });

  it("a denial is recorded with its reasons and can never be consumed", async () => {
    const r = await risk().evaluate(intent({ market: "NO-SUCH-MARKET" }), strategyActor, "decide");
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.approved).toBe(false);
    expect(r.value.reasons.map((x) => x.code)).toEqual([RiskReasonCode.unknownMarket]);
    expect(await entriesOf("risk.decision")).toHaveLength(1);
    expect(await risk().consume(r.value.decisionId, r.value.intentHash)).toMatchObject({
      ok: false,
      error: { code: "risk_denied" },
    });
  });

  it("an expired decision cannot be consumed", async () => {
    const r = await risk().evaluate(intent(), strategyActor, "decide");
    if (!r.ok) throw new Error(r.error.message);
    const stub = testEnv.RISK_GOVERNOR.getByName("portfolio");
    await runInDurableObject(stub, (instance: RiskGovernor) => {
      const stored = (instance as unknown as { st: GovernorState }).st.decisions.get(r.value.decisionId)!;
      stored.decision.expiresAt = new Date(Date.now() - 1).toISOString();
    });
    expect(await risk().consume(r.value.decisionId, r.value.intentHash)).toMatchObject({
      ok: false,
      error: { code: "conflict", message: "decision expired" },
    });
  });

  it("the audit append failing: no decision, the client order id stays free, the breaker counts an audit failure", async () => {
    await audit()._set({ failing: true });
    const i = intent();
    const r = await risk().evaluate(i, strategyActor, "decide");
    expect(r).toMatchObject({ ok: false, error: { code: "audit_unavailable" } });
    const breaker = await risk().getBreaker();
    expect(breaker).toMatchObject({
      ok: true,
      value: { state: "CAUTION", consecutiveFailures: { audit_failure: 1 } },
    });
    await audit()._set({ failing: false });
    // Nothing was reserved by the failed attempt: the same client order id is not a duplicate.
    const again = await risk().evaluate(i, strategyActor, "decide");
    expect(again).toMatchObject({ ok: true, value: { approved: true } });
    // Back to NORMAL for the rest of the file (an operator may loosen CAUTION).
    expect(
      await transitionAtCurrent("NORMAL", "audit back", { method: "token", subject: "admin-token" }),
    ).toMatchObject({
      ok: true,
      value: { state: "NORMAL" },
    });
    // The CAUTION transition made while audit was down was kept in the outbox and appended first.
    const transitions = await entriesOf("risk.breaker_transition");
    expect(transitions.map((t) => (t.payload as { to: string; trigger: string }).to)).toEqual([
      "CAUTION",
      "NORMAL",
    ]);
    await risk().reportSuccess("audit_failure");
  });

  it("bad input is a validation error and records nothing", async () => {
    const r = await risk().evaluate({ ...intent(), quantity: Number.NaN }, strategyActor, "decide");
    expect(r).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    const r2 = await risk().evaluate({ ...intent(), limitPrice: "abc" }, strategyActor, "decide");
    expect(r2).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    const r3 = await risk().evaluate(intent(), { method: "nobody" } as never, "decide");
    expect(r3).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    // The mode is validated with the intent: an unknown or missing one decides nothing.
    for (const mode of ["record", undefined, "DRY_RUN"]) {
      const r4 = await risk().evaluate(intent(), strategyActor, mode as never);
      expect(r4).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    }
    expect(await audit()._events()).toEqual([]);
  });

  it("a dry run answers without recording, reserving or leaving anything to consume", async () => {
    const i = intent();
    const dry = await risk().evaluate(i, strategyActor, "dry_run");
    expect(dry).toMatchObject({
      ok: true,
      value: { dryRun: true, approved: true, intentHash: await canonicalHash("paulp.intent.v1", i) },
    });
    expect(dry.ok && "decisionId" in dry.value).toBe(false);
    expect(await audit()._events()).toEqual([]);
    const real = await risk().evaluate(i, strategyActor, "decide");
    expect(real).toMatchObject({ ok: true, value: { approved: true } });
    const dup = await risk().evaluate(i, strategyActor, "decide");
    expect(dup.ok && dup.value.reasons.map((x) => x.code)).toEqual([RiskReasonCode.duplicateClientOrderId]);
  });

  it("approved but unfilled orders count against the limits (two orders cannot together pass 5 %)", async () => {
    await risk().recordMarks([freshMark("MKT-R", "0.50")]);
    // Default limits: 5 % of $100,000 = $5,000 = 10,000 contracts at 0.50; at most 5,000 per order.
    const a = await risk().evaluate(intent({ market: "MKT-R", quantity: 5_000 }), strategyActor, "decide");
    const b = await risk().evaluate(intent({ market: "MKT-R", quantity: 5_000 }), strategyActor, "decide");
    expect([a.ok && a.value.approved, b.ok && b.value.approved]).toEqual([true, true]);
    const c = await risk().evaluate(intent({ market: "MKT-R", quantity: 1 }), strategyActor, "decide");
    expect(c.ok && c.value.approved).toBe(false);
    expect(c.ok && c.value.reasons).toEqual([
      expect.objectContaining({ code: "POSITION_LIMIT_EXCEEDED", observed: "5.0005%", limit: "5.0000%" }),
    ]);
  });

  it("fills move the portfolio and release reservations; a repeated fill id is ignored", async () => {
    await risk().recordMarks([freshMark("MKT-F", "0.40")]);
    const i = intent({ market: "MKT-F", quantity: 1_000, limitPrice: "0.40" });
    const d = await risk().evaluate(i, strategyActor, "decide");
    expect(d).toMatchObject({ ok: true, value: { approved: true } });
    const fill = {
      fillId: "fill-1",
      strategyId: "s1",
      venue: "kalshi" as const,
      market: "MKT-F",
      side: "buy" as const,
      quantity: 1_000,
      price: "0.40",
      fee: "1.50",
      clientOrderId: i.clientOrderId,
      ts: new Date().toISOString(),
    };
    // Idempotent by fill id: the same fill again is answered, and not applied twice.
    expect(await risk().recordFills([fill])).toEqual({
      ok: true,
      value: { fills: [{ fillId: fill.fillId, applied: true }] },
    });
    expect(await risk().recordFills([fill])).toEqual({
      ok: true,
      value: { fills: [{ fillId: fill.fillId, applied: false }] },
    });
    const x = await risk().exposure();
    if (!x.ok) throw new Error(x.error.message);
    expect(x.value.equity).toBe("99998.50"); // the fee
    expect(x.value.realisedPnl).toBe("-1.50");
    expect(x.value.openPositions).toBe(1);
    const mf = await risk().evaluate(
      intent({ market: "MKT-F", effect: "increase", quantity: 1, limitPrice: "0.40" }),
      strategyActor,
      "decide",
    );
    expect(mf).toMatchObject({ ok: true, value: { approved: true } });
    expect(await risk().recordFills([{ ...fill, fillId: "bad", price: "nope" }])).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
  });
});

describe("fail closed over RPC", () => {
  it("stale mark, no price, no category each deny", async () => {
    await risk().recordMarks([
      freshMark("MKT-STALE", "0.50", { agoMs: 121_000 }),
      freshMark("MKT-NOPRICE", null),
      freshMark("MKT-NOCAT", "0.50", { category: null }),
    ]);
    const codes = async (market: string) => {
      const r = await risk().evaluate(intent({ market }), strategyActor, "decide");
      return r.ok ? r.value.reasons.map((x) => x.code) : [r.error.code];
    };
    expect(await codes("MKT-STALE")).toEqual(["STALE_MARK"]);
    expect(await codes("MKT-NOPRICE")).toEqual(["NO_MARK_PRICE"]);
    expect(await codes("MKT-NOCAT")).toEqual(["NO_CATEGORY"]);
  });

  it("a malformed mark is refused and changes nothing", async () => {
    const r = await risk().recordMarks([{ ...freshMark("MKT-A", "0.50"), evidenceHash: "nothex" }]);
    expect(r).toMatchObject({ ok: false, error: { code: "validation_failed" } });
  });
});

describe("a HALT after approval", () => {
  it("stops an approved opening decision from being consumed, but not a reducing one", async () => {
    await risk().recordMarks([freshMark("MKT-H", "0.50")]);
    const opening = await risk().evaluate(
      intent({ market: "MKT-H", strategyId: "s7" }),
      strategyActor,
      "decide",
    );
    if (!opening.ok || !opening.value.approved) throw new Error("expected an approval");
    await risk().recordFills([
      {
        fillId: "h-1",
        strategyId: "s8",
        venue: "kalshi",
        market: "MKT-H",
        side: "buy",
        quantity: 10,
        price: "0.50",
        fee: "0",
        clientOrderId: "h-1",
        ts: new Date().toISOString(),
      },
    ]);
    const reducing = await risk().evaluate(
      intent({ market: "MKT-H", strategyId: "s8", side: "sell", effect: "reduce", quantity: 5 }),
      strategyActor,
      "decide",
    );
    if (!reducing.ok || !reducing.value.approved) throw new Error("expected an approval");
    expect(
      await risk().transitionBreaker(
        { targetState: "HALT", reason: "Emergency halt" },
        { method: "token", subject: "admin-token" },
      ),
    ).toMatchObject({ ok: true });
    expect(await risk().consume(opening.value.decisionId, opening.value.intentHash)).toMatchObject({
      ok: false,
      error: { code: "breaker_halted" },
    });
    expect(await risk().consume(reducing.value.decisionId, reducing.value.intentHash)).toMatchObject({
      ok: true,
    });
  });
});
