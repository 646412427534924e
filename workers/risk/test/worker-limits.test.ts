import type { RiskLimits } from "@paulp/contracts";
import { DEFAULT_LIMITS } from "@paulp/risk-rules";
import { describe, expect, it } from "vitest";
import {
  approval,
  audit,
  entriesOf,
  freshMark,
  governance,
  HASH,
  operator,
  redeemCalls,
  returnedReceipts,
  risk,
  strategyActor,
} from "./worker-helpers";

const receipt = { requestId: "req-1", receiptToken: "tok" };

async function current() {
  const r = await risk().getLimits();
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe("limits", () => {
  it("start at the specification's defaults, version 1", async () => {
    expect(await current()).toMatchObject({ version: 1, limits: DEFAULT_LIMITS });
  });

  it("lowering applies at once, versioned and audited with who made it", async () => {
    const lower: RiskLimits = { ...DEFAULT_LIMITS, maxPositionPct: "4" };
    const r = await risk().updateLimits(lower, operator);
    expect(r).toMatchObject({
      ok: true,
      value: { version: 2, limits: lower, updatedBy: "token:admin-token" },
    });
    const [e] = await entriesOf("risk.limits_changed");
    expect(e).toMatchObject({
      actor: operator,
      payload: { fromVersion: 1, toVersion: 2, raised: [], approval: null },
    });
    expect(await redeemCalls()).toEqual([]);
    // Decisions now carry the new version and enforce 4 %.
    await risk().recordMarks([freshMark("MKT-A", "0.50")]);
    const d = await risk().evaluate(
      {
        strategyId: "s1",
        venue: "kalshi",
        market: "MKT-A",
        side: "buy",
        effect: "open",
        quantity: 5_000,
        limitPrice: "0.50",
        clientOrderId: "lim-0001",
        evidenceHashes: [HASH],
      },
      strategyActor,
      "dry_run",
    );
    expect(d).toMatchObject({ ok: true, value: { approved: true, limitsVersion: 2 } });
  });

  it("raising answers approval_required naming the action and the exact payload; nothing changes", async () => {
    const before = await current();
    const raise: RiskLimits = { ...before.limits, maxPositionPct: "6" };
    const r = await risk().updateLimits(raise, operator);
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: "approval_required",
        details: { action: "risk.limits_increase", payload: { limits: raise }, raised: ["maxPositionPct"] },
      },
    });
    expect(await current()).toEqual(before);
    expect(await audit()._events()).toEqual([]);
  });

  it("taking a market out of a correlation group is a raise too", async () => {
    const before = await current();
    const grouped: RiskLimits = { ...before.limits, correlationGroups: { g: ["kalshi:A", "kalshi:B"] } };
    expect(await risk().updateLimits(grouped, operator)).toMatchObject({ ok: true });
    const ungrouped: RiskLimits = { ...grouped, correlationGroups: { g: ["kalshi:A"] } };
    expect(await risk().updateLimits(ungrouped, operator)).toMatchObject({
      ok: false,
      error: { code: "approval_required", details: { raised: ["correlationGroups"] } },
    });
  });

  it("the price collar is stored with the limits: widening it is a two-person change, narrowing applies at once", async () => {
    const before = await current();
    expect(before.limits).toMatchObject({ priceCollarPct: "10", priceCollarMinimum: "0.05" });
    const wider: RiskLimits = { ...before.limits, priceCollarPct: "25", priceCollarMinimum: "0.10" };
    expect(await risk().updateLimits(wider, operator)).toMatchObject({
      ok: false,
      error: {
        code: "approval_required",
        details: {
          action: "risk.limits_increase",
          payload: { limits: wider },
          raised: ["priceCollarPct", "priceCollarMinimum"],
        },
      },
    });
    expect(await current()).toEqual(before);
    const narrower: RiskLimits = { ...before.limits, priceCollarPct: "5" };
    expect(await risk().updateLimits(narrower, operator)).toMatchObject({
      ok: true,
      value: { version: before.version + 1, limits: { priceCollarPct: "5" } },
    });
    // Enforced at once: 5 % of a 0.80 mark is 0.04, under the $0.05 minimum, so a buy may go to 0.85.
    await risk().recordMarks([freshMark("MKT-COLLAR", "0.80")]);
    const at = (limitPrice: string) =>
      risk().evaluate(
        {
          strategyId: "s1",
          venue: "kalshi",
          market: "MKT-COLLAR",
          side: "buy",
          effect: "open",
          quantity: 10,
          limitPrice,
          clientOrderId: `collar-${limitPrice.replace(".", "")}`,
          evidenceHashes: [HASH],
        },
        strategyActor,
        "dry_run",
      );
    expect(await at("0.85")).toMatchObject({ ok: true, value: { approved: true } });
    const over = await at("0.86");
    expect(over.ok && over.value.reasons).toEqual([
      expect.objectContaining({ code: "PRICE_COLLAR_EXCEEDED", observed: "0.8600", limit: "0.8500" }),
    ]);
    expect(await risk().updateLimits(before.limits, operator)).toMatchObject({ ok: false });
  });

  it("a raise with a receipt governance refuses changes nothing; with a redeemed one it applies", async () => {
    const before = await current();
    const raise: RiskLimits = { ...before.limits, maxPositionPct: "6" };
    await governance()._set({
      redeemAnswer: { ok: false, error: { code: "conflict", message: "payload mismatch" } },
    });
    expect(await risk().updateLimits(raise, operator, receipt)).toMatchObject({
      ok: false,
      error: { code: "conflict", message: "payload mismatch" },
    });
    expect(await current()).toEqual(before);
    await governance()._set({ redeemAnswer: { ok: true, value: approval("risk.limits_increase") } });
    const r = await risk().updateLimits(raise, operator, receipt);
    expect(r).toMatchObject({ ok: true, value: { version: before.version + 1, limits: raise } });
    expect((await redeemCalls()).at(-1)).toMatchObject({
      receipt,
      action: "risk.limits_increase",
      payload: { limits: raise },
      actor: operator,
    });
    expect((await entriesOf("risk.limits_changed")).at(-1)).toMatchObject({
      payload: { raised: ["maxPositionPct"], approval: { requestId: "req-1" } },
    });
  });

  it("a raise redeemed but not audited gives the receipt back (the limits stay as they were)", async () => {
    const before = await current();
    await governance()._set({ redeemAnswer: { ok: true, value: approval("risk.limits_increase") } });
    await audit()._set({ failing: true });
    const r = await risk().updateLimits({ ...before.limits, maxPositionPct: "7" }, operator, receipt);
    await audit()._set({ failing: false });
    expect(r).toMatchObject({ ok: false, error: { code: "audit_unavailable" } });
    expect(!r.ok && r.error.message).toMatch(/limits not changed: .*; approval req-1 returned: re-run it/);
    expect(await returnedReceipts()).toEqual([
      { receipt, reason: expect.stringMatching(/^apply failed: limits not changed/), actor: operator },
    ]);
    expect(await current()).toEqual(before);
  });

  it("an audit failure refuses the change; malformed limits are a validation error", async () => {
    const before = await current();
    await audit()._set({ failing: true });
    expect(await risk().updateLimits({ ...before.limits, maxPositionPct: "1" }, operator)).toMatchObject({
      ok: false,
      error: { code: "audit_unavailable" },
    });
    await audit()._set({ failing: false });
    expect(await current()).toEqual(before);
    // A lowering redeemed nothing, so nothing is given back.
    expect(await returnedReceipts()).toEqual([]);
    expect(await risk().updateLimits({ ...before.limits, maxPositionPct: "five" }, operator)).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
    expect(
      await risk().updateLimits({ ...before.limits, maxOrderQuantity: Number.NaN }, operator),
    ).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    expect(await current()).toEqual(before);
  });

  it("a drawdown breach sends the breaker to HALT", async () => {
    const before = await current();
    // Lower drawdown to 2 % (below daily loss) so the drawdown limit is the one that trips.
    expect(await risk().updateLimits({ ...before.limits, maxDrawdownPct: "2" }, operator)).toMatchObject({
      ok: true,
    });
    await risk().recordMarks([freshMark("MKT-D", "0.50")]);
    await risk().recordFills([
      {
        fillId: "dd-1",
        strategyId: "s1",
        venue: "kalshi",
        market: "MKT-D",
        side: "buy",
        quantity: 10_000,
        price: "0.50",
        fee: "0",
        clientOrderId: "dd",
        ts: new Date().toISOString(),
      },
    ]);
    expect((await risk().getBreaker()).ok && (await risk().getBreaker())).toMatchObject({
      value: { state: "NORMAL" },
    });
    await risk().recordMarks([freshMark("MKT-D", "0.25")]); // -$2,500 = 2.5 % from the high-water mark
    expect(await risk().getBreaker()).toMatchObject({
      ok: true,
      value: { state: "HALT", reason: "drawdown limit breached" },
    });
  });
});
