// An IBKR hedge priced from the instrument's mark, through the real workers: the loop's paper fills (execution →
// risk → order manager) are hedged on the simulator's instrument 265598 (near 148), whose map limits (sell ≥ 120,
// buy ≤ 180) are only bounds: a hedge at such a fixed price is refused by risk's collar, one following the mark is
// approved. Without a mark (IBKR's first snapshot of a conid carries no price) no hedge is placed and the run says so;
// the fill's hedge stays owed (a hedge obligation, alerted as unhedged_exposure) until a later run places it.
import { HedgeObligationsView } from "@paulp/contracts";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { adminFetch, approvedPairs, auditEntries, json, post } from "./helpers";

const HEDGE_CONID = "265598";

interface Order {
  clientOrderId: string;
  intent: {
    venue: string;
    market: string;
    side: string;
    effect: string;
    quantity: number;
    limitPrice: string;
    evidenceHashes: string[];
  };
  context?: { kind?: string; hedgeOf?: string; note?: string };
  decision?: { approved: boolean } | null;
  mode: string;
  state: string;
}
interface LoopRun {
  signals: number;
  submitted: string[];
  denied: { clientOrderId: string; reason: string }[];
}

async function paperStrategy(name: string): Promise<string> {
  const { id } = await json<{ id: string }>(
    adminFetch(
      "/admin/strategies",
      post({
        name,
        kind: "cross_venue_rv",
        allocation: "10000.00",
        venues: ["kalshi", "polymarket"],
        params: {},
      }),
    ),
  );
  await json(adminFetch(`/admin/strategies/${id}/paper`, { method: "POST" }));
  return id;
}

interface Obligation {
  clientOrderId: string;
  conid: string;
  state: string;
  attempts: number;
  hedgeOrderId: string | null;
}
const listed = async (state = "open") =>
  json<{ obligations: Obligation[]; undetermined: unknown[] }>(
    adminFetch(`/admin/execution/hedge-obligations?state=${state}`),
  );
const obligations = async (state = "open") => (await listed(state)).obligations;
const evaluateAlerts = () =>
  json<{ changes: { key: string; action: string; severity: string }[] }>(
    adminFetch("/admin/alerts/evaluate", { method: "POST" }),
  );

const runLoop = () => json<LoopRun>(adminFetch("/admin/execution/run", { method: "POST" }));
const orders = async () => (await json<{ orders: Order[] }>(adminFetch("/admin/orders?limit=200"))).orders;

describe("an IBKR hedge follows the instrument's mark (through the real workers)", () => {
  it("places none without a mark, then one at a mark-following limit that risk accepts", {
    timeout: 240_000,
  }, async () => {
    expect(await approvedPairs()).toBeGreaterThan(0);

    // The first run: its fast-path refresh only starts IBKR's market data for the instrument, so risk holds no
    // mark for it yet. The Kalshi fills stand; no hedge is sent at a blind price, and the run says why.
    const strategyA = await paperStrategy("Hedged A");
    const first = await runLoop();
    expect(first.signals).toBeGreaterThan(0);
    const notPlaced = first.denied.filter((d) => d.reason.startsWith("hedge_not_placed:"));
    expect(notPlaced.length, JSON.stringify(first)).toBeGreaterThan(0);
    expect(notPlaced[0]!.reason).toContain(`ibkr:${HEDGE_CONID} not placed: risk holds no mark for it`);
    const afterFirst = await orders();
    expect(afterFirst.filter((o) => o.intent.venue === "ibkr")).toEqual([]);
    const runs = await auditEntries("execution.loop_run");
    expect(runs.some((e) => JSON.stringify(e.payload.denied).includes("hedge_not_placed"))).toBe(true);
    // Each unhedged fill is owed: listed, audited, and alerted on (this mesh's monitor alerts on any open one).
    const answer = await listed();
    // The answer holds to its contract (the OpenAPI document's schema); every fill was judged at submit (the run
    // read the market's category), so none is undetermined.
    expect(v.safeParse(HedgeObligationsView, answer).issues).toBeUndefined();
    expect(answer.undetermined).toEqual([]);
    const owed = answer.obligations;
    expect(owed.length).toBeGreaterThan(0);
    expect(owed.every((o) => o.conid === HEDGE_CONID && o.attempts === 1)).toBe(true);
    expect((await auditEntries("execution.hedge_pending")).length).toBeGreaterThanOrEqual(owed.length);
    expect((await evaluateAlerts()).changes).toContainEqual({
      key: "unhedged_exposure",
      action: "raised",
      severity: "warning",
    });

    // A fast-path tick: IBKR's next snapshot carries the price, ingestion keeps it as evidence and risk the mark.
    const tick = await json<{ refreshed: number }>(
      adminFetch("/admin/execution/fast-path/run", { method: "POST" }),
    );
    expect(tick.refreshed).toBeGreaterThan(0);

    // A second strategy's fills (new client order ids this minute) are hedged at the mark, not the map's bounds.
    await paperStrategy("Hedged B");
    const second = await runLoop();
    const hedges = (await orders()).filter(
      (o) => o.intent.venue === "ibkr" && second.submitted.includes(o.clientOrderId),
    );
    expect(hedges.length, JSON.stringify(second)).toBeGreaterThan(0);
    for (const h of hedges) {
      expect(h.context).toMatchObject({
        kind: "hedge",
        note: expect.stringMatching(/^mark \d+\.\d{4} \(age \d+s\) [+−] 0\.5 % → /),
      });
      expect(h.decision?.approved).toBe(true);
      expect(h.state).toBe("filled");
      const mark = Number(/^mark (\d+\.\d{4})/.exec(h.context!.note!)![1]);
      const limit = Number(h.intent.limitPrice);
      // 0.5 % through the mark, on the cent; far inside the bounds (120, 180) the old code would have sent.
      expect(Math.abs(limit - mark * (h.intent.side === "buy" ? 1.005 : 0.995))).toBeLessThan(0.011);
      expect(limit).toBeGreaterThan(140);
      expect(limit).toBeLessThan(156);
    }

    // Strategy A's owed hedges were retried first and placed at the mark; none is owed now, and the alert clears.
    const placed = await obligations("placed");
    for (const o of owed) {
      const closed = placed.find((p) => p.clientOrderId === o.clientOrderId);
      expect(closed?.hedgeOrderId, JSON.stringify(second)).toBeTruthy();
      expect(second.submitted).toContain(closed!.hedgeOrderId);
    }
    expect(await obligations()).toEqual([]);
    expect((await auditEntries("execution.hedge_placed")).length).toBeGreaterThanOrEqual(owed.length);
    expect((await evaluateAlerts()).changes).toContainEqual({
      key: "unhedged_exposure",
      action: "cleared",
      severity: "warning",
    });
    const badQuery = await adminFetch("/admin/execution/hedge-obligations?state=lost");
    expect(badQuery.status).toBe(400);
    const closedAbandon = await adminFetch(
      `/admin/execution/hedge-obligations/${owed[0]!.clientOrderId}/abandon`,
      post({ reason: "hedged by hand" }),
    );
    expect(closedAbandon.status).toBe(409);

    // What the old fixed price would have met: risk refuses an opening sell at the map's bound (120.00, strategy A
    // holds none of the instrument) as an erroneous price, beyond its collar around the mark.
    const fixed = await adminFetch(
      "/admin/orders",
      post({
        strategyId: strategyA,
        venue: "ibkr",
        market: HEDGE_CONID,
        side: "sell",
        effect: "open",
        quantity: 1,
        limitPrice: "120.00",
        evidenceHashes: hedges[0]!.intent.evidenceHashes,
      }),
    );
    const refused = (await fixed.json()) as {
      error: { code: string; details: { reasons: { code: string }[] } };
    };
    expect(fixed.status, JSON.stringify(refused)).toBe(422);
    expect(refused.error.details.reasons.map((r) => r.code)).toContain("PRICE_COLLAR_EXCEEDED");
  });
});
