import { describe, expect, it } from "vitest";
import { approval, audit, entriesOf, governance, operator, redeemCalls, risk } from "./worker-helpers";

type Capital = {
  setCapital(
    change: { equity: string },
    actor: typeof operator,
    receipt?: { requestId: string; receiptToken: string },
  ): Promise<
    | { ok: true; value: { equity: string; previousEquity: string | null } }
    | { ok: false; error: { code: string; details?: { action?: string; payload?: unknown } } }
  >;
};
const capital = () => risk() as unknown as Capital;
const receipt = { requestId: "req-1", receiptToken: "t".repeat(43) };

describe("setCapital over RPC", () => {
  it("answers approval_required with the exact payload when raising, and changes nothing", async () => {
    const r = await capital().setCapital({ equity: "250000.00" }, operator);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("approval_required");
    expect(r.error.details).toEqual({ action: "risk.capital_increase", payload: { equity: "250000.00" } });
    expect(await redeemCalls()).toEqual([]);
    expect(await entriesOf("risk.capital_changed")).toEqual([]);
  });

  it("raises only with a receipt governance redeems for exactly that payload, and audits it", async () => {
    await governance()._set({ redeemAnswer: { ok: true, value: approval("risk.capital_increase") } });
    const r = await capital().setCapital({ equity: "250000.00" }, operator, receipt);
    expect(r).toMatchObject({ ok: true, value: { equity: "250000.00" } });
    const calls = await redeemCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ action: "risk.capital_increase", payload: { equity: "250000.00" } });
    const [entry] = await entriesOf("risk.capital_changed");
    expect(entry?.payload).toMatchObject({ equity: "250000.00", approval: { requestId: "req-1" } });
  });

  it("refuses a raise whose receipt governance does not redeem", async () => {
    await governance()._set({
      redeemAnswer: {
        ok: false,
        error: { code: "approval_required", message: "payload mismatch" },
      },
    });
    const r = await capital().setCapital({ equity: "900000.00" }, operator, receipt);
    expect(r).toMatchObject({ ok: false, error: { code: "approval_required" } });
    expect(await entriesOf("risk.capital_changed")).toEqual([]);
  });

  it("lowers at once without approval, and not at all if the audit is down", async () => {
    await audit()._set({ failing: true });
    expect(await capital().setCapital({ equity: "1000.00" }, operator)).toMatchObject({
      ok: false,
      error: { code: "audit_unavailable" },
    });
    await audit()._set({ failing: false });
    const r = await capital().setCapital({ equity: "1000.00" }, operator);
    expect(r.ok).toBe(true);
    expect(await redeemCalls()).toEqual([]);
  });
});
