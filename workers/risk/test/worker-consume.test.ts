import { runInDurableObject } from "cloudflare:test";
import type { OrderIntent, Result } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { type GovernorState, loadGovernor } from "../src/governor-state";
import type { RiskGovernor } from "../src/risk-governor";
import { freshMark, intentMaker, operator, risk, strategyActor, testEnv } from "./worker-helpers";

const intent = intentMaker("consume", { strategyId: "c1", market: "MKT-C", quantity: 10 });

async function approved(i: OrderIntent) {
  const r = await risk().evaluate(i, strategyActor, "decide");
  if (!r.ok || !r.value.approved) throw new Error(`expected an approval: ${JSON.stringify(r)}`);
  return r.value;
}

/** A fresh governor on the same storage, as after a restart. */
async function reloaded(): Promise<GovernorState["orders"]> {
  const stub = testEnv.RISK_GOVERNOR.getByName("portfolio");
  return runInDurableObject(stub, async (_i: RiskGovernor, state) => {
    return (await loadGovernor(state.storage, testEnv, Date.now())).orders;
  });
}

describe("reservations under their own keys", () => {
  it("an approval writes only its own reservation; a fill deletes it; a restart reads them back", async () => {
    expect(await risk().recordMarks([freshMark("MKT-C", "0.50")])).toMatchObject({ ok: true });
    const ia = intent();
    const a = await approved(ia);
    const b = await approved(intent());
    const stub = testEnv.RISK_GOVERNOR.getByName("portfolio");
    const keys = async () =>
      runInDurableObject(stub, async (_i: RiskGovernor, state) => ({
        rsv: [...(await state.storage.list({ prefix: "rsv:" })).keys()].sort(),
        orders: await state.storage.get("orders"),
      }));
    expect(await keys()).toEqual({
      rsv: [`rsv:${a.decisionId}`, `rsv:${b.decisionId}`].sort(),
      orders: undefined,
    });
    const before = await reloaded();
    expect(Object.keys(before.reservations).sort()).toEqual([a.decisionId, b.decisionId].sort());
    // The rate window is rebuilt from the approved client ids (each written with its time).
    expect(before.approvals.length).toBeGreaterThanOrEqual(2);

    const consumed = await risk().consume(a.decisionId, a.intentHash);
    expect(consumed.ok).toBe(true);
    const fill = await risk().recordFills([
      {
        fillId: `fill-${a.decisionId}`,
        strategyId: "c1",
        venue: "kalshi",
        market: "MKT-C",
        side: "buy",
        quantity: 10,
        price: "0.50",
        fee: "0",
        clientOrderId: ia.clientOrderId,
        ts: new Date().toISOString(),
      },
    ]);
    expect(fill).toEqual({ ok: true, value: { fills: [{ fillId: `fill-${a.decisionId}`, applied: true }] } });
    expect((await keys()).rsv).toEqual([`rsv:${b.decisionId}`]);
    expect(Object.keys((await reloaded()).reservations)).toEqual([b.decisionId]);
  });

  it("moves reservations stored the old way (one `orders` value) to their own keys on load", async () => {
    const stub = testEnv.RISK_GOVERNOR.getByName("portfolio");
    const now = Date.now();
    const legacy = {
      reservations: {
        rd_legacylegacy01: {
          posKey: "c9|kalshi:MKT-L",
          venue: "kalshi",
          market: "MKT-L",
          qty: 5,
          clientOrderId: "legacy-1",
          expiresAtMs: now + 20_000,
        },
      },
      approvals: [now - 1_000],
    };
    await runInDurableObject(stub, async (_i: RiskGovernor, state) => state.storage.put("orders", legacy));
    const orders = await reloaded();
    expect(orders.reservations.rd_legacylegacy01).toMatchObject({ clientOrderId: "legacy-1", qty: 5 });
    const stored = await runInDurableObject(stub, async (_i: RiskGovernor, state) => ({
      rsv: await state.storage.get("rsv:rd_legacylegacy01"),
      orders: await state.storage.get("orders"),
    }));
    expect(stored.rsv).toMatchObject({ clientOrderId: "legacy-1" });
    expect(stored.orders).toBeUndefined();
  });
});

describe("consume", () => {
  it("answers the decision and the breaker state it read, and refuses a second use", async () => {
    expect(await risk().recordMarks([freshMark("MKT-D", "0.50")])).toMatchObject({ ok: true });
    const d = await approved(intent({ market: "MKT-D" }));
    const r = await risk().consume(d.decisionId, d.intentHash);
    expect(r).toMatchObject({
      ok: true,
      value: { decision: { decisionId: d.decisionId }, breaker: { state: "NORMAL" } },
    });
    expect(await risk().consume(d.decisionId, d.intentHash)).toMatchObject({
      ok: false,
      error: { code: "conflict" },
    });
  });

  // Last in this file: it leaves the breaker in HALT.
  it("a HALT landing among concurrent consumes lets no opening order through once it is set", async () => {
    expect(await risk().recordMarks([freshMark("MKT-R", "0.50")])).toMatchObject({ ok: true });
    const decisions = [];
    for (let k = 0; k < 30; k++) decisions.push(await approved(intent({ market: "MKT-R", quantity: 1 })));

    let halted = false;
    const outcomes: { afterHalt: boolean; result: Promise<Result<unknown>> }[] = [];
    let halt: Promise<unknown> | null = null;
    for (let k = 0; k < decisions.length; k++) {
      if (k === 8)
        halt = risk()
          .transitionBreaker({ targetState: "HALT", reason: "race test" }, operator)
          .then((r) => {
            halted = true;
            return r;
          });
      // Once the HALT answered, every later consume must see it; the last third waits for that.
      if (k === 20) await halt;
      const d = decisions[k]!;
      const result: Promise<Result<unknown>> = risk().consume(d.decisionId, d.intentHash);
      outcomes.push({ afterHalt: halted, result });
      await Promise.resolve();
    }
    expect(await halt).toMatchObject({ ok: true, value: { state: "HALT" } });
    const settled = await Promise.all(outcomes.map(async (o) => ({ ...o, result: await o.result })));
    const after = settled.filter((o) => o.afterHalt);
    expect(after.length).toBeGreaterThanOrEqual(10);
    for (const o of after) expect(o.result).toMatchObject({ ok: false, error: { code: "breaker_halted" } });
    // Nothing that went through says it saw HALT (it would have been refused).
    for (const o of settled) {
      if (o.result.ok)
        expect((o.result.value as { breaker?: { state: string } }).breaker?.state ?? "NORMAL").not.toBe(
          "HALT",
        );
    }
    // A consume refused in HALT used the decision up: it cannot be consumed later either.
    const burned = decisions[decisions.length - 1]!;
    expect(await risk().consume(burned.decisionId, burned.intentHash)).toMatchObject({ ok: false });
    expect(await risk().getBreaker()).toMatchObject({ ok: true, value: { state: "HALT" } });
  });
});
