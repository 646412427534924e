// #13 items 8, 9 and 17 at the order manager, against the real venue simulator: what every order is checked
// against before anything is sent (its references, its market's compliance now), and how a venue that
// rate-limits our trading requests is backed off from and counted toward the breaker.
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  afterOutbox,
  audit,
  execution,
  governance,
  HASH_A,
  ingestion,
  intent,
  kalshiOrderFault,
  liveOnSimulator,
  orderManagerStub,
  releasesOf,
  risk,
  setBackoff,
  simKalshiOrders,
  TICKERS,
} from "./helpers";

const LIVE = "rv-live-checks";
const MANUAL = { kind: "manual" as const };
const FAKE = "0".repeat(64);
const atVenue = async (coid: string) => (await simKalshiOrders()).filter((o) => o.client_order_id === coid);
const refusals = async (coid: string) =>
  (await audit()._events()).filter(
    (e) => e.type === "execution.order_refused" && e.payload.clientOrderId === coid,
  );

beforeAll(() => liveOnSimulator(LIVE));

afterEach(async () => {
  await ingestion()._set({ missing: [] });
  await ingestion()._set({ preTradeDown: false });
  await governance()._set({ unknownStrategies: [] });
  await setBackoff("kalshi", null);
});

describe("an order's references must exist (#13 item 17)", () => {
  it("evidence that is not stored: refused naming the hash, nothing sent, risk's approval released", async () => {
    await ingestion()._set({ missing: [FAKE] });
    const i = intent({ strategyId: LIVE, market: TICKERS[1]!, evidenceHashes: [HASH_A, FAKE] });
    const r = await execution().placeOrder(i, ADMIN, MANUAL);
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: "unknown_reference",
        message: `evidenceHashes: no evidence is stored under ${FAKE}`,
        details: { field: "evidenceHashes", missing: [FAKE], clientOrderId: i.clientOrderId },
      },
    });
    expect(await atVenue(i.clientOrderId)).toEqual([]);
    const stored = await execution().getOrder(i.clientOrderId);
    expect(stored.ok && stored.value.state).toBe("rejected");
    expect(await refusals(i.clientOrderId)).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ code: "unknown_reference" }) }),
    ]);
    // Risk approved and reserved in the same call: the ended order tells it to release.
    expect(
      (
        await afterOutbox(
          () => releasesOf(i.clientOrderId),
          (x) => x.length > 0,
        )
      ).length,
    ).toBe(1);
  });

  it("a strategy that does not exist: refused naming it, for a closing order too", async () => {
    await governance()._set({ unknownStrategies: ["ghost"] });
    for (const effect of ["open", "close"] as const) {
      const i = intent({ strategyId: "ghost", market: TICKERS[1]!, effect, side: "sell" });
      const r = await execution().placeOrder(i, ADMIN, MANUAL);
      expect(r).toMatchObject({
        ok: false,
        error: {
          code: "unknown_reference",
          message: "strategyId: no strategy ghost exists",
          details: { field: "strategyId", missing: ["ghost"] },
        },
      });
    }
  });
});

describe("the compliance verdict now, for every order (#13 item 9)", () => {
  const blocked = TICKERS[2]!;
  beforeAll(async () => {
    await ingestion()._setVerdict("kalshi", blocked, { verdict: "block", ruleId: "no-x", reason: "policy" });
  });

  it("a live opening order in a market compliance blocks is refused before it is sent", async () => {
    const i = intent({ strategyId: LIVE, market: blocked, quantity: 1 });
    const r = await execution().placeOrder(i, ADMIN, MANUAL);
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: "compliance_blocked",
        message: `kalshi:${blocked} is blocked by compliance rule no-x (policy), rules version 1`,
      },
    });
    expect(await atVenue(i.clientOrderId)).toEqual([]);
    expect(await refusals(i.clientOrderId)).toHaveLength(1);
  });

  it("a paper opening order is refused the same way (no book needed to say so)", async () => {
    const i = intent({ strategyId: "rv-paper-checks", market: blocked, quantity: 1 });
    const r = await execution().placeOrder(i, ADMIN, MANUAL);
    expect(!r.ok && r.error.code).toBe("compliance_blocked");
  });

  it("a position in a market blocked since it was opened can be closed (exit only), its verdict audited", async () => {
    const market = TICKERS[5]!;
    const open = intent({ strategyId: LIVE, market, quantity: 1 });
    const opened = await execution().placeOrder(open, ADMIN, MANUAL);
    expect(opened.ok && opened.value.order.filledQuantity).toBe(1);
    await ingestion()._setVerdict("kalshi", market, { verdict: "block", ruleId: "no-x", reason: "policy" });
    const reopen = intent({ strategyId: LIVE, market, quantity: 1, effect: "increase" });
    expect(await execution().placeOrder(reopen, ADMIN, MANUAL)).toMatchObject({
      ok: false,
      error: { code: "compliance_blocked" },
    });
    const i = intent({
      strategyId: LIVE,
      market,
      side: "sell",
      effect: "close",
      quantity: 1,
      limitPrice: "0.0100",
    });
    const r = await execution().placeOrder(i, ADMIN, MANUAL);
    expect(r.ok && r.value.order.state).toBe("filled");
    expect(await atVenue(i.clientOrderId)).toHaveLength(1);
    const submitted = (await audit()._events()).find(
      (e) => e.type === "execution.order_submitted" && e.payload.clientOrderId === i.clientOrderId,
    );
    expect(submitted?.payload.compliance).toEqual({
      compliance: expect.stringContaining("blocked by compliance rule no-x"),
      rulesVersion: 1,
    });
  });

  it("no verdict to be had (ingestion unreachable): opening orders are refused, fail closed", async () => {
    await ingestion()._set({ preTradeDown: true });
    const i = intent({ strategyId: LIVE, market: TICKERS[3]!, quantity: 1 });
    const r = await execution().placeOrder(i, ADMIN, MANUAL);
    expect(r).toMatchObject({ ok: false, error: { code: "service_unavailable" } });
    expect(!r.ok && r.error.message).toMatch(/no compliance verdict/);
    expect(await atVenue(i.clientOrderId)).toEqual([]);
  });

  it("an allowed order records the verdict and rules version it was decided under", async () => {
    const i = intent({ strategyId: LIVE, market: TICKERS[3]!, quantity: 1 });
    expect((await execution().placeOrder(i, ADMIN, MANUAL)).ok).toBe(true);
    const submitted = (await audit()._events()).find(
      (e) => e.type === "execution.order_submitted" && e.payload.clientOrderId === i.clientOrderId,
    );
    expect(submitted?.payload.compliance).toEqual({ compliance: "allow", rulesVersion: 1 });
  });
});

describe("rate limiting on the trading API (#13 item 8)", () => {
  const stored = () =>
    runInDurableObject(orderManagerStub(), async (_o, state) => {
      const row = state.storage.sql
        .exec<{ v: string }>("SELECT v FROM meta WHERE k = 'backoff:kalshi'")
        .toArray()[0];
      return row ? (JSON.parse(row.v) as { streak: number; untilMs: number }) : null;
    });
  const rateLimitReports = async () =>
    (await risk()._calls()).filter(
      (c) =>
        c.method === "reportFailure" &&
        c.kind === "venue_order_error" &&
        /rate-limited/.test(String(c.detail)),
    );

  it("a 429 on order placement counts toward the breaker and starts a backoff; 429s in a row double it", async () => {
    const reportsBefore = (await rateLimitReports()).length;
    await kalshiOrderFault({ kind: "rate_limit", bodyForm: "error_string" });
    const first = intent({ strategyId: LIVE, market: TICKERS[4]!, quantity: 1 });
    const r = await execution().placeOrder(first, ADMIN, MANUAL);
    expect(r.ok && r.value.order.state).toBe("rejected");
    expect(r.ok && r.value.order.reason).toMatch(/^rate_limited/);
    const reports = await rateLimitReports();
    expect(reports.length).toBe(reportsBefore + 1);
    expect(reports.at(-1)!.detail).toMatch(
      /kalshi rate-limited a trading request \(429 #1 in a row; backing off 1 s\)/,
    );
    const backoff = await stored();
    expect(backoff?.streak).toBe(1);

    // The backoff over, the next request is sent; a second 429 in a row doubles the wait.
    await setBackoff("kalshi", Date.now() - 1);
    await kalshiOrderFault({ kind: "rate_limit", bodyForm: "error_string" });
    const second = intent({ strategyId: LIVE, market: TICKERS[4]!, quantity: 1 });
    expect((await execution().placeOrder(second, ADMIN, MANUAL)).ok).toBe(true);
    expect((await rateLimitReports()).at(-1)!.detail).toMatch(/429 #2 in a row; backing off 2 s/);
    expect((await stored())?.streak).toBe(2);
  });

  it("while the backoff runs, an order to that venue is refused before it is claimed, decided or sent", async () => {
    await setBackoff("kalshi", Date.now() + 60_000);
    const decided = (await risk()._calls()).filter(
      (c) => c.method === "evaluate" && c.mode === "decide_and_consume",
    ).length;
    const i = intent({ strategyId: LIVE, market: TICKERS[4]!, quantity: 1 });
    const r = await execution().placeOrder(i, ADMIN, MANUAL);
    expect(r).toMatchObject({
      ok: false,
      error: { code: "rate_limited", details: { venue: "kalshi", retryAfterSeconds: expect.any(Number) } },
    });
    expect(!r.ok && (r.error.details as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(50);
    expect((await execution().getOrder(i.clientOrderId)).ok).toBe(false);
    expect(
      (await risk()._calls()).filter((c) => c.method === "evaluate" && c.mode === "decide_and_consume")
        .length,
    ).toBe(decided);
    expect(await atVenue(i.clientOrderId)).toEqual([]);
    // Reconciliation does not call the venue either, and counts nothing more.
    const reports = (await risk()._calls()).filter((c) => c.method === "reportFailure").length;
    const rec = await execution().reconcile(ADMIN);
    expect(rec.ok && rec.value.venues.find((v) => v.venue === "kalshi")).toMatchObject({
      status: "unavailable",
      detail: expect.stringMatching(/^rate_limited: kalshi rate-limited us: backing off/),
    });
    expect((await risk()._calls()).filter((c) => c.method === "reportFailure").length).toBe(reports);
  });

  it("a successful trading request ends the streak", async () => {
    await setBackoff("kalshi", Date.now() - 1);
    const i = intent({ strategyId: LIVE, market: TICKERS[4]!, quantity: 1 });
    const r = await execution().placeOrder(i, ADMIN, MANUAL);
    expect(r.ok && r.value.order.state).not.toBe("rejected");
    expect(await stored()).toBeNull();
  });
});
