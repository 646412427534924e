// #13 item 10: a live order whose outcome execution does not know yet (being sent, cut off by a restart,
// unknown) may already have filled at the venue. Reconciliation expects a range for its market, not a point,
// so it reports no drift that is not there; a position outside the range is still drift.
import { runInDurableObject } from "cloudflare:test";
import { kalshiMarketStatus, kalshiTickerAt } from "@paulp/sim-universe";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, execution, intent, liveOnSimulator, orderManagerStub, risk, simAdmin } from "./helpers";

const LIVE = "rv-live-inflight";
// Open markets no other test file trades: the simulator's positions are shared by every file of the run.
const MARKETS = Array.from({ length: 100 }, (_, i) => 200 + i)
  .filter((i) => kalshiMarketStatus(20261124, "small", i) === "active")
  .slice(0, 4)
  .map((i) => kalshiTickerAt(20261124, i));

beforeAll(() => liveOnSimulator(LIVE));

/**
 * A live buy of `quantity` that filled at the venue, then made to look as execution sees an order whose answer
 * it has not had: back in `pending_submit` with its decision stored, no fill recorded, last touched `agoMs` ago;
 * `sending` marks it as being sent by this instance (no restart).
 */
async function filledButNotKnown(market: string, quantity: number, agoMs: number, sending: boolean) {
  const i = intent({ strategyId: LIVE, market, quantity, limitPrice: "0.9900" });
  const r = await execution().placeOrder(i, ADMIN, { kind: "manual" });
  expect(r.ok && r.value.order.filledQuantity).toBe(quantity);
  await runInDurableObject(orderManagerStub(), async (o, state) => {
    const at = new Date(Date.now() - agoMs).toISOString();
    state.storage.sql.exec("DELETE FROM fills WHERE coid = ?", i.clientOrderId);
    state.storage.sql.exec(
      "UPDATE orders SET state = 'pending_submit', filled = 0, avg_price = NULL, updated_at = ? WHERE coid = ?",
      at,
      i.clientOrderId,
    );
    if (sending) (o as unknown as { sending: Set<string> }).sending.add(i.clientOrderId);
  });
  return i;
}

const driftReports = async (market: string) =>
  (await risk()._calls()).filter(
    (c) =>
      c.method === "reportFailure" && c.kind === "reconciliation_drift" && String(c.detail).includes(market),
  );

async function reconcileFor(market: string) {
  const r = await execution().reconcile(ADMIN);
  if (!r.ok) throw new Error(r.error.message);
  expect(r.value.venues.find((v) => v.venue === "kalshi")?.status).toBe("ok");
  return r.value.drifts.filter((d) => d.market === market);
}

describe("reconciliation with live orders in flight", () => {
  it("an order being sent while the venue's positions are read is not drift", async () => {
    const market = MARKETS[0]!;
    const i = await filledButNotKnown(market, 2, 60_000, true);
    expect(await reconcileFor(market)).toEqual([]);
    expect(await driftReports(market)).toEqual([]);
    // Its answer in (here: the sweep finds it at the venue), the expectation is a point again and matches.
    await runInDurableObject(orderManagerStub(), async (o) => {
      (o as unknown as { sending: Set<string> }).sending.delete(i.clientOrderId);
    });
    expect(await reconcileFor(market)).toEqual([]);
    const order = await execution().getOrder(i.clientOrderId);
    expect(order.ok && order.value).toMatchObject({ state: "filled", filledQuantity: 2 });
  });

  it("the 30 s after a restart: an order cut off mid-send is in flight until the sweep looks it up", async () => {
    const market = MARKETS[1]!;
    const i = await filledButNotKnown(market, 3, 0, false);
    expect(await reconcileFor(market)).toEqual([]);
    expect(await driftReports(market)).toEqual([]);
    // 30 s on, the sweep calls it unknown and finds it filled: no drift either.
    await runInDurableObject(orderManagerStub(), async (_o, state) => {
      state.storage.sql.exec(
        "UPDATE orders SET updated_at = ? WHERE coid = ?",
        new Date(Date.now() - 31_000).toISOString(),
        i.clientOrderId,
      );
    });
    expect(await reconcileFor(market)).toEqual([]);
    const order = await execution().getOrder(i.clientOrderId);
    expect(order.ok && order.value).toMatchObject({ state: "filled", filledQuantity: 3 });
    expect(await driftReports(market)).toEqual([]);
  });

  it("a position outside the range is drift, measured from the range's nearer end", async () => {
    const market = MARKETS[2]!;
    await filledButNotKnown(market, 2, 60_000, true);
    await simAdmin("kalshi", "positions", { ticker: market, delta: 5 });
    expect(await reconcileFor(market)).toEqual([
      {
        venue: "kalshi",
        market,
        internal: 0,
        venuePosition: 7,
        drift: 5,
        expectedMin: 0,
        expectedMax: 2,
        inFlight: 1,
      },
    ]);
    expect(await driftReports(market)).toEqual([
      expect.objectContaining({
        detail: `kalshi:${market} internal=0 expected=0..2 (1 in flight) venue=7 drift=5 tolerance=0`,
      }),
    ]);
  });
});
