import { runInDurableObject } from "cloudflare:test";
import type { FillReport, RiskExposure } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { loadGovernor } from "../src/governor-state";
import type { RiskGovernor } from "../src/risk-governor";
import { freshMark, risk, testEnv } from "./worker-helpers";

const fill = (n: number, over: Partial<FillReport> = {}): FillReport => ({
  fillId: `bf-${n}`,
  strategyId: "s-batch",
  venue: "kalshi",
  market: `BATCH-${n}`,
  side: "buy",
  quantity: 2,
  price: "0.4000",
  fee: "0.0100",
  clientOrderId: `coid-batch-${n}`,
  ts: new Date().toISOString(),
  ...over,
});

describe("fills in batches, positions and fill ids under their own keys", () => {
  it("applies a batch in order: duplicates ignored, a bad fill refused alone", async () => {
    const marks = Array.from({ length: 4 }, (_, n) => freshMark(`BATCH-${n}`, "0.40"));
    expect((await risk().recordMarks(marks)).ok).toBe(true);
    const before = (await risk().exposure()) as { ok: true; value: RiskExposure };
    const r = await risk().recordFills([fill(0), fill(1), fill(0), fill(2, { price: "0" }), fill(3)]);
    expect(r).toEqual({
      ok: true,
      value: {
        fills: [
          { fillId: "bf-0", applied: true },
          { fillId: "bf-1", applied: true },
          { fillId: "bf-0", applied: false },
          { fillId: "bf-2", applied: false, error: "price or fee malformed" },
          { fillId: "bf-3", applied: true },
        ],
      },
    });
    // A later call sees the batch's fill ids.
    expect(await risk().recordFills([fill(1)])).toEqual({
      ok: true,
      value: { fills: [{ fillId: "bf-1", applied: false }] },
    });
    const after = (await risk().exposure()) as { ok: true; value: RiskExposure };
    expect(after.value.openPositions).toBe(before.value.openPositions + 3);
    // Three fills at 0.40 marked at 0.40 cost only their fees.
    expect(Number(after.value.realisedPnl) - Number(before.value.realisedPnl)).toBeCloseTo(-0.03, 6);

    const stub = testEnv.RISK_GOVERNOR.getByName("portfolio");
    const stored = await runInDurableObject(stub, async (_i: RiskGovernor, state) => {
      const portfolio = (await state.storage.get<{ positions: object; fillIds: object }>("portfolio"))!;
      const p = (await loadGovernor(state.storage, testEnv, Date.now())).portfolio;
      return {
        inline: Object.keys(portfolio.positions).length + Object.keys(portfolio.fillIds).length,
        pos: (await state.storage.get("pos:s-batch|kalshi:BATCH-3")) !== undefined,
        fid: (await state.storage.get("fid:bf-3")) !== undefined,
        reloadedFillId: p.fillIds["bf-0"] !== undefined,
        reloadedPosition: "s-batch|kalshi:BATCH-1" in p.positions,
      };
    });
    expect(stored).toEqual({ inline: 0, pos: true, fid: true, reloadedFillId: true, reloadedPosition: true });
  });

  it("applies a fractional Kalshi fill (0.37 contracts) exactly, through the RPC (refused before hundredths)", async () => {
    expect((await risk().recordMarks([freshMark("FRAC-1", "0.5612")])).ok).toBe(true);
    const before = (await risk().exposure()) as { ok: true; value: RiskExposure };
    const r = await risk().recordFills([
      fill(500, { market: "FRAC-1", quantity: 0.37, price: "0.5612", fee: "0.0100" }),
      fill(501, { market: "FRAC-1", quantity: 0.2, price: "0.5612", fee: "0" }),
      fill(502, { market: "FRAC-1", quantity: 0.1, price: "0.5612", fee: "0" }),
    ]);
    expect(r).toEqual({
      ok: true,
      value: {
        fills: [
          { fillId: "bf-500", applied: true },
          { fillId: "bf-501", applied: true },
          { fillId: "bf-502", applied: true },
        ],
      },
    });
    const stub = testEnv.RISK_GOVERNOR.getByName("portfolio");
    const pos = await runInDurableObject(stub, async (_i: RiskGovernor, state) =>
      state.storage.get<{ qty: number; cost: number }>("pos:s-batch|kalshi:FRAC-1"),
    );
    // 0.37 + 0.2 + 0.1 = 0.67 contracts (67 hundredths), cost 0.67 × 0.5612 = $0.376004 (micros), exactly.
    expect(pos).toMatchObject({ qty: 67, cost: 376_004 });
    const after = (await risk().exposure()) as { ok: true; value: RiskExposure };
    expect(after.value.openPositions).toBe(before.value.openPositions + 1);
    expect(Number(after.value.realisedPnl) - Number(before.value.realisedPnl)).toBeCloseTo(-0.01, 6);
    // A quantity finer than 0.01 is refused at the boundary, the whole batch with it (nothing applied).
    const bad = await risk().recordFills([fill(503, { market: "FRAC-1", quantity: 0.375 })]);
    expect(bad.ok).toBe(false);
  });

  it("refuses a batch over the size limit", async () => {
    const r = await risk().recordFills(Array.from({ length: 101 }, (_, n) => fill(100 + n)));
    expect(r.ok).toBe(false);
  });
});
