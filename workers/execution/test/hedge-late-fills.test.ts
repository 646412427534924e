// Late fills owe hedges too: a Kalshi signal order whose fills are learnt after submit (its answer lost, then
// looked up at the venue) or grow after submit opens an obligation for exactly the shares the new fills add,
// once however often the fill is replayed, and the next loop run places its hedge once. The judgement is pure;
// the rest runs through the real order manager, the Kalshi and IBKR simulators and the loop.
import { runInDurableObject } from "cloudflare:test";
import { HedgeObligationsView, type Result } from "@paulp/contracts";
import * as v from "valibot";
import { beforeAll, describe, expect, it } from "vitest";
import type { HedgeMap } from "../src/hedge";
import { type HedgeFill, hedgeOwedByFill, mayOweHedge, obligationIdFor } from "../src/hedge-obligations";
import { runTradingLoop } from "../src/loop";
import { OrderManager } from "../src/order-manager";
import { deriveClientOrderId } from "../src/orders/ids";
import {
  ADMIN,
  approvedDecision,
  audit,
  execution,
  governance,
  hedgedPaperPair,
  ibkrEvaluations,
  ibkrMark,
  intent,
  liveOnSimulator,
  orderManagerStub,
  risk,
  simAdmin,
  TICKERS,
  withHedgeMap,
} from "./helpers";

const entry = (conid: number, ratio: string) => ({
  conid,
  ratio,
  direction: "opposite" as const,
  buyLimit: "120.00",
  sellLimit: "90.00",
});

const fill = (over: Partial<HedgeFill> = {}): HedgeFill => ({
  fillId: "pp-order-0001:2",
  clientOrderId: "pp-order-0001",
  strategyId: "rv",
  pairId: "pair",
  market: "KX-A",
  fillSide: "buy",
  filledBefore: 0,
  filledAfter: 2,
  evidenceHashes: ["a".repeat(64)],
  seenAt: "2026-12-02T12:00:00.000Z",
  reason: null,
  ...over,
});

describe("what a fill owes (pure)", () => {
  const map: HedgeMap = { "KX-A": entry(1, "0.5"), "category:Rates": entry(2, "1") };
  const read = { map, error: null };

  it("owes the shares the fill adds to the order's cumulative hedge, under the batch's own id", () => {
    // 0.5 a contract: a first fill of one contract owes no whole share; the second brings the order to one.
    expect(hedgeOwedByFill(read, fill({ filledBefore: 0, filledAfter: 1 }), null)).toEqual({ kind: "none" });
    expect(hedgeOwedByFill(read, fill({ filledBefore: 1, filledAfter: 2 }), null)).toMatchObject({
      kind: "owed",
      obligationId: "pp-order-0001_f200",
      obligation: { clientOrderId: "pp-order-0001", conid: "1", side: "sell", quantity: 1, filled: 1 },
    });
    // The first batch keeps the order's own id (the id obligations always had).
    expect(hedgeOwedByFill(read, fill({ filledBefore: 0, filledAfter: 5 }), null)).toMatchObject({
      kind: "owed",
      obligationId: "pp-order-0001",
      obligation: { quantity: 2, filled: 5 },
    });
    // 2 → 5 contracts: floor(2.5) − floor(1) = 1 share, never floor(3 × 0.5) = 1 by luck: 3 → 5 owes 1, 2 → 3 owes 0.
    expect(hedgeOwedByFill(read, fill({ filledBefore: 3, filledAfter: 5 }), null)).toMatchObject({
      obligation: { quantity: 1 },
    });
    expect(hedgeOwedByFill(read, fill({ filledBefore: 2, filledAfter: 3 }), null)).toEqual({ kind: "none" });
    expect(obligationIdFor("pp-x", 0.5, 2.37)).toBe("pp-x_f237");
  });

  it("owes nothing for a market the map does not cover; judges a category entry by the category read", () => {
    const other = fill({ market: "KX-B" });
    expect(hedgeOwedByFill(read, other, { ok: true, value: "Sports" })).toEqual({ kind: "none" });
    expect(hedgeOwedByFill(read, other, { ok: true, value: "Rates" })).toMatchObject({
      kind: "owed",
      obligation: { conid: "2", category: "Rates", quantity: 2 },
    });
  });

  it("fails closed: an unreadable map or an unread category is undetermined, never nothing", () => {
    expect(hedgeOwedByFill({ map: {}, error: "HEDGE_MAP is not JSON" }, fill(), null)).toEqual({
      kind: "undetermined",
      reason: "the hedge map is unreadable (HEDGE_MAP is not JSON)",
    });
    const down: Result<string | null> = { ok: false, error: { code: "upstream_error", message: "down" } };
    expect(hedgeOwedByFill(read, fill({ market: "KX-B" }), down)).toEqual({
      kind: "undetermined",
      reason: "the category of KX-B could not be read (upstream_error: down)",
    });
    expect(hedgeOwedByFill(read, fill({ market: "KX-B" }), null)).toMatchObject({ kind: "undetermined" });
    // Its own ticker's entry needs no category.
    expect(hedgeOwedByFill(read, fill(), down)).toMatchObject({ kind: "owed" });
  });

  it("only the loop's own Kalshi orders may owe a hedge", () => {
    expect(mayOweHedge("kalshi", "signal")).toBe(true);
    for (const [venue, kind] of [
      ["kalshi", "manual"],
      ["kalshi", null],
      ["ibkr", "hedge"],
      ["ibkr", "signal"],
    ] as const)
      expect(mayOweHedge(venue, kind), `${venue} ${kind}`).toBe(false);
  });
});

const LIVE = "rv-live-latefills";
const CONID = 265598;

beforeAll(() => liveOnSimulator(LIVE));

/** What the operator's list answers (held to its contract schema), of one order. */
async function listedFor(coid: string, state: "open" | "placed" = "open") {
  const r = await execution().listHedgeObligations({ state, limit: 500 });
  if (!r.ok) throw new Error(r.error.message);
  const listed = v.parse(HedgeObligationsView, r.value);
  return {
    obligations: listed.obligations.filter((o) => o.clientOrderId === coid),
    undetermined: listed.undetermined.filter((f) => f.clientOrderId === coid),
  };
}

async function obligationsOf(coid: string, state: "open" | "placed" = "open") {
  return (await listedFor(coid, state)).obligations;
}

/** Store an order's fills up to `total` in the order manager's own store, as a venue poll does. */
async function storeFill(coid: string, total: number, price: string, fee: string): Promise<void> {
  await runInDurableObject(orderManagerStub(), (instance) => {
    if (!(instance instanceof OrderManager)) throw new Error("not the order manager");
    // biome-ignore lint/complexity/useLiteralKeys: the store is private to the object; this is how a poll reaches it
    instance["desk"].store.storeFills(coid, total, price, fee);
  });
}

const pendingFills = () => orderManagerStub().pendingHedgeFills(500);

/** A live Kalshi bid the loop would have placed (a signal order), whose answer the venue loses after accepting. */
async function lostSignalOrder(market: string, quantity: number) {
  await simAdmin("kalshi", "faults", { afterAccept: "error", times: 1 });
  const i = intent({ strategyId: LIVE, venue: "kalshi", market, limitPrice: "0.9900", quantity });
  const d = await approvedDecision(i);
  const r = await execution().submitOrder(i, d.decisionId, ADMIN, {
    kind: "signal",
    pairId: `pair-${market}`,
  });
  if (!r.ok) throw new Error(r.error.message);
  expect(r.value.order).toMatchObject({ state: "unknown", filledQuantity: 0 });
  return i;
}

describe("a live Kalshi order whose fills are learnt after submit", () => {
  it("owes the hedge of what filled (once, however often replayed), and the next run places it once", async () => {
    const covered = TICKERS[6]!;
    const uncovered = TICKERS[7]!;
    const at = Date.now();
    // No strategy trades in these runs: only owed hedges are judged and retried.
    await governance()._set({ strategies: [], pairs: [] });
    const hedged = withHedgeMap({ [covered]: entry(CONID, "2") });

    const i = await lostSignalOrder(covered, 3);
    const other = await lostSignalOrder(uncovered, 2);
    // At submit nothing was known filled: nothing is owed yet, whatever the loop saw.
    expect(await obligationsOf(i.clientOrderId)).toEqual([]);

    // The sweep finds both filled at the venue: each fill is recorded with what may owe a hedge.
    await execution().resolveUnknown(ADMIN);
    const o = await execution().getOrder(i.clientOrderId);
    expect(o.ok && o.value).toMatchObject({ state: "filled", filledQuantity: 3 });
    expect((await pendingFills()).map((f) => [f.clientOrderId, f.filledBefore, f.filledAfter])).toEqual([
      [i.clientOrderId, 0, 3],
      [other.clientOrderId, 0, 2],
    ]);
    // Replayed: a second sweep (the order is ended: not polled) and the same fill stored again add nothing.
    await execution().resolveUnknown(ADMIN);
    await storeFill(i.clientOrderId, 3, "0.5000", "0.0100");
    expect(await pendingFills()).toHaveLength(2);

    // The next run (no mark for the instrument yet): the covered fill is owed 3 × 2 = 6 shares, audited, and
    // its first attempt places nothing at a blind price; the uncovered one owes nothing and is gone.
    const first = await runTradingLoop(hedged, ADMIN, at);
    if (!first.ok) throw new Error(first.error.message);
    expect(await pendingFills()).toEqual([]);
    expect(await obligationsOf(other.clientOrderId)).toEqual([]);
    const [owed, ...more] = await obligationsOf(i.clientOrderId);
    expect(more).toEqual([]);
    expect(owed).toMatchObject({
      obligationId: i.clientOrderId,
      strategyId: LIVE,
      pairId: `pair-${covered}`,
      market: covered,
      fillSide: "buy",
      filled: 3,
      conid: String(CONID),
      side: "sell",
      quantity: 6,
      attempts: 1,
    });
    const owedEvents = (await audit()._events()).filter(
      (e) =>
        e.type === "execution.hedge_owed" &&
        (e.payload as { obligation: { clientOrderId: string } }).obligation.clientOrderId === i.clientOrderId,
    );
    expect(owedEvents.map((e) => e.payload)).toEqual([
      expect.objectContaining({ filledBefore: 0, filledAfter: 3 }),
    ]);
    expect(first.value.hedgeRetries).toContainEqual(
      expect.objectContaining({ obligationId: i.clientOrderId, outcome: "open" }),
    );
    expect(await ibkrEvaluations(CONID)).toEqual([]);

    // A fresh mark: the next run's retry places the hedge (a live IBKR sell of 6), once.
    await risk().recordMarks([ibkrMark(CONID, "101.0000")]);
    const second = await runTradingLoop(hedged, ADMIN, at);
    if (!second.ok) throw new Error(second.error.message);
    const hedgeId = await deriveClientOrderId(LIVE, `hedge:${i.clientOrderId}:2`, "ibkr");
    expect(second.value.hedgeRetries).toContainEqual({
      clientOrderId: i.clientOrderId,
      obligationId: i.clientOrderId,
      hedgeOrderId: hedgeId,
      outcome: "placed",
      reason: null,
    });
    const hedge = await execution().getOrder(hedgeId);
    expect(hedge.ok && hedge.value).toMatchObject({
      mode: "live",
      intent: { venue: "ibkr", market: String(CONID), side: "sell", quantity: 6 },
      context: { kind: "hedge", hedgeOf: i.clientOrderId },
    });
    expect(await obligationsOf(i.clientOrderId)).toEqual([]);
    expect(await obligationsOf(i.clientOrderId, "placed")).toHaveLength(1);
    const third = await runTradingLoop(hedged, ADMIN, at);
    if (!third.ok) throw new Error(third.error.message);
    expect(third.value.hedgeRetries ?? []).toEqual([]);
    expect(await ibkrEvaluations(CONID)).toHaveLength(1);
  });
});

describe("an order filled partly at submit and more later (paper)", () => {
  it("tops the owed hedge up by exactly the new fill's shares, once, and the next run hedges it", async () => {
    const conid = 882001;
    const kalshi = "KX-LATE-PAPER";
    const at = Date.now();
    // Only 3 contracts offered: the signal fills 3.
    const hedged = await hedgedPaperPair("rv-late-paper", kalshi, "0xpolylatepaper", conid, "3");
    // The signal crosses the 3 contracts offered: 3 filled at submit, owed floor(1.5) = 1 share (no mark yet).
    const first = await runTradingLoop(hedged, ADMIN, at);
    if (!first.ok) throw new Error(first.error.message);
    const signalId = first.value.submitted[0]!;
    const signal = await execution().getOrder(signalId);
    expect(signal.ok && signal.value.filledQuantity).toBe(3);
    expect(await obligationsOf(signalId)).toEqual([
      expect.objectContaining({ obligationId: signalId, quantity: 1, filled: 3 }),
    ]);

    // More fills on the order arrive later (3 → 6 contracts), and the same fill again (a replay).
    for (let n = 0; n < 2; n++) await storeFill(signalId, 6, "0.4000", "0.0000");
    expect((await pendingFills()).filter((f) => f.clientOrderId === signalId)).toHaveLength(1);

    // The next run (a fresh mark now): the top-up is judged — floor(3) − floor(1.5) = 2 shares, its own
    // obligation — and both owed hedges are placed, each once.
    await risk().recordMarks([ibkrMark(conid, "200.0000")]);
    const second = await runTradingLoop(hedged, ADMIN, at);
    if (!second.ok) throw new Error(second.error.message);
    const topUp = `${signalId}_f600`;
    const placed = await obligationsOf(signalId, "placed");
    expect(placed.map((o) => [o.obligationId, o.quantity, o.filled]).sort()).toEqual(
      [
        [signalId, 1, 3],
        [topUp, 2, 3],
      ].sort(),
    );
    const topUpHedge = await deriveClientOrderId("rv-late-paper", `hedge:${topUp}`, "ibkr");
    expect(second.value.hedgeRetries).toContainEqual({
      clientOrderId: signalId,
      obligationId: topUp,
      hedgeOrderId: topUpHedge,
      outcome: "placed",
      reason: null,
    });
    const h = await execution().getOrder(topUpHedge);
    expect(h.ok && h.value).toMatchObject({
      state: "filled",
      intent: { side: "sell", quantity: 2 },
      context: { hedgeOf: signalId },
    });
    const third = await runTradingLoop(hedged, ADMIN, at);
    if (!third.ok) throw new Error(third.error.message);
    expect(await ibkrEvaluations(conid)).toHaveLength(2);
    expect(await obligationsOf(signalId)).toEqual([]);
  });
});

describe("a late fill whose hedge cannot be judged", () => {
  it("stays owed (counted as open, named by the run) until a run can judge it, never dropped", async () => {
    const market = TICKERS[5]!;
    const at = Date.now();
    await governance()._set({ strategies: [], pairs: [] });
    const i = await lostSignalOrder(market, 2);
    await execution().resolveUnknown(ADMIN);
    const mine = async () => (await pendingFills()).filter((f) => f.clientOrderId === i.clientOrderId);
    expect(await mine()).toHaveLength(1);
    // Recorded, not judged yet: the operator's list names it (no reason: no run has tried).
    expect((await listedFor(i.clientOrderId)).undetermined).toEqual([
      expect.objectContaining({
        fillId: `${i.clientOrderId}:2`,
        market,
        fillSide: "buy",
        filledBefore: 0,
        filledAfter: 2,
        reason: null,
      }),
    ]);
    const before = await execution().monitorStats();
    if (!before.ok) throw new Error(before.error.message);

    // An unreadable map: the fill is kept with why, the gauges count it as open, the run names it.
    const broken = withHedgeMap("{not json");
    const run = await runTradingLoop(broken, ADMIN, at);
    if (!run.ok) throw new Error(run.error.message);
    expect(await mine()).toEqual([
      expect.objectContaining({ reason: "the hedge map is unreadable (HEDGE_MAP is not JSON)" }),
    ]);
    expect(run.value.skipped).toContainEqual(
      expect.stringMatching(new RegExp(`^hedge of fill ${i.clientOrderId}:2 undetermined`)),
    );
    const during = await execution().monitorStats();
    if (!during.ok) throw new Error(during.error.message);
    expect(during.value.hedgeObligations.open).toBe(before.value.hedgeObligations.open + 1);
    expect(during.value.hedgeObligations.oldestFirstSeenAt).not.toBeNull();
    // Counted as open, so listed too: not as an obligation (its shares are unknown) but as undetermined, with why,
    // whatever state is asked.
    const listed = await listedFor(i.clientOrderId);
    expect(listed.obligations).toEqual([]);
    const recorded = (await mine())[0]!.seenAt;
    expect(listed.undetermined).toEqual([
      {
        fillId: `${i.clientOrderId}:2`,
        clientOrderId: i.clientOrderId,
        strategyId: LIVE,
        market,
        fillSide: "buy",
        filledBefore: 0,
        filledAfter: 2,
        recordedAt: recorded,
        reason: "the hedge map is unreadable (HEDGE_MAP is not JSON)",
      },
    ]);
    expect((await listedFor(i.clientOrderId, "placed")).undetermined).toHaveLength(1);

    // A category map whose category ingestion cannot answer for this market: still undetermined.
    const byCategory = withHedgeMap({ "category:Rates": entry(CONID, "1") });
    const again = await runTradingLoop(byCategory, ADMIN, at);
    if (!again.ok) throw new Error(again.error.message);
    expect(await mine()).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/^the category of/) }),
    ]);
    expect((await listedFor(i.clientOrderId)).undetermined).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/^the category of/) }),
    ]);

    // The map readable and covering the market: the next run opens the obligation (owed since the fill was seen).
    // (An instrument risk holds no mark for: the obligation stays open for the assertion, its hedge not placed.)
    const fixed = withHedgeMap({ [market]: entry(882002, "1") });
    const fact = (await mine())[0]!;
    const ok = await runTradingLoop(fixed, ADMIN, at);
    if (!ok.ok) throw new Error(ok.error.message);
    expect(await mine()).toEqual([]);
    expect((await listedFor(i.clientOrderId)).undetermined).toEqual([]);
    const owed = await obligationsOf(i.clientOrderId);
    expect(owed).toEqual([
      expect.objectContaining({ quantity: 2, conid: "882002", firstSeenAt: fact.seenAt }),
    ]);
  });
});
