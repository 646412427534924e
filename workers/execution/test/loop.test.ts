import { env, exports } from "cloudflare:workers";
import type { StrategySummary } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import {
  ADMIN,
  afterOutbox,
  audit,
  execution,
  governance,
  ingestion,
  pairLeg as leg,
  reportedFills,
  risk,
} from "./helpers";

const STRATEGY: StrategySummary = {
  id: "rv-loop",
  name: "RV",
  kind: "cross_venue_rv",
  state: "paper",
  allocation: "1000.00",
  venues: ["kalshi", "polymarket"],
  params: {},
};
const KH = "1".repeat(64);
const PH = "2".repeat(64);

async function setup(pairId: string, kalshiMarket: string, polyMarket: string, kalshiAsk: string) {
  await governance()._set({
    strategies: [STRATEGY, { ...STRATEGY, id: "other-kind", kind: "market_making" }],
    pairs: [
      {
        pairId,
        kalshi: leg("kalshi", kalshiMarket),
        polymarket: leg("polymarket", polyMarket),
        grade: "identical",
        yesMapsTo: "YES",
        approvedBy: "reviewer@paulp.test",
        approvedAt: "2026-11-20T00:00:00.000Z",
      },
    ],
  });
  await ingestion()._setBook("kalshi", kalshiMarket, {
    bids: [{ price: "0.3800", size: "50" }],
    asks: [{ price: kalshiAsk, size: "50" }],
    evidenceHash: KH,
  });
  await ingestion()._setBook("polymarket", polyMarket, {
    bids: [{ price: "0.5000", size: "500" }],
    asks: [{ price: "0.5200", size: "500" }],
    evidenceHash: PH,
  });
}

describe("autonomous loop: cross-venue relative value", () => {
  it("trades Kalshi toward Polymarket in paper, with both markets' evidence, once per decision", async () => {
    await setup("pair-1", "KXLOOP-1", "0xpoly1", "0.4000");
    const r = await execution().runTradingLoop({ method: "system", subject: "cron:execution" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ strategies: 1, pairs: 1, signals: 1 });
    expect(r.value.submitted).toHaveLength(1);
    const id = r.value.submitted[0]!;
    const order = await execution().getOrder(id);
    expect(order.ok).toBe(true);
    if (!order.ok) return;
    expect(order.value.intent).toMatchObject({
      strategyId: "rv-loop",
      venue: "kalshi",
      market: "KXLOOP-1",
      side: "buy",
      limitPrice: "0.4000",
    });
    expect(order.value.intent.evidenceHashes.sort()).toEqual([KH, PH]);
    expect(order.value.context).toMatchObject({
      kind: "signal",
      pairId: "pair-1",
      pairApprovedBy: "reviewer@paulp.test",
    });
    expect(order.value).toMatchObject({ mode: "paper", state: "filled" });
    expect(order.value.decision?.approved).toBe(true);

    // The same minute again: the decision stands, nothing is evaluated or sent twice.
    const minute = Math.floor(Date.now() / 60_000);
    const evaluations = (await risk()._calls()).filter((c) => c.method === "evaluate").length;
    const again = await execution().runTradingLoop({ method: "system", subject: "cron:execution" });
    if (Math.floor(Date.now() / 60_000) === minute) {
      expect(again.ok && again.value.submitted).toEqual([]);
      expect(again.ok && again.value.skipped.join()).toContain(id);
      expect((await risk()._calls()).filter((c) => c.method === "evaluate").length).toBe(evaluations);
    }
    const fillsFor = async () => (await reportedFills()).filter((c) => c.fill.clientOrderId === id);
    expect(await afterOutbox(fillsFor, (f) => f.length > 0)).toHaveLength(1);
  });

  it("does not trade a pair whose leg's terms changed since it was reviewed", async () => {
    await setup("pair-terms", "KXLOOP-T", "0xpolyT", "0.4000");
    await ingestion()._setTerms("kalshi", "KXLOOP-T", "9".repeat(64));
    const before = (await risk()._calls()).filter((c) => c.method === "evaluate").length;
    const r = await execution().runTradingLoop({ method: "system", subject: "cron:execution" });
    expect(r.ok && r.value.submitted).toEqual([]);
    expect(r.ok && r.value.skipped.join()).toMatch(
      /pair-terms: terms changed since the pair was reviewed \(kalshi\)/,
    );
    expect((await risk()._calls()).filter((c) => c.method === "evaluate").length).toBe(before);
  });

  it("sends nothing when risk denies, and reports why", async () => {
    await setup("pair-2", "KXLOOP-2", "0xpoly2", "0.4000");
    await risk()._set({ deny: true });
    try {
      const r = await execution().runTradingLoop(ADMIN);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.value.submitted).toEqual([]);
      expect(r.value.denied[0]?.reason).toMatch(/POSITION_LIMIT_EXCEEDED/);
      const stored = await execution().getOrder(r.value.denied[0]!.clientOrderId);
      expect(stored.ok).toBe(false);
    } finally {
      await risk()._set({ deny: false });
    }
  });

  it("does not trade inside fees plus margin", async () => {
    await setup("pair-3", "KXLOOP-3", "0xpoly3", "0.5100");
    const r = await execution().runTradingLoop(ADMIN);
    expect(r.ok && r.value).toMatchObject({ signals: 0, submitted: [] });
  });

  it("the */15 cron reconciles and audits", async () => {
    const before = (await audit()._events()).filter((e) => e.type === "execution.reconciliation").length;
    await (
      exports as unknown as {
        default: { scheduled(c: { cron: string; scheduledTime: number }): Promise<void> };
      }
    ).default.scheduled({
      cron: "*/15 * * * *",
      scheduledTime: Date.now(),
    });
    const after = (await audit()._events()).filter((e) => e.type === "execution.reconciliation").length;
    expect(after).toBe(before + 1);
  });
});

describe("the per-minute cron", () => {
  it("tickles the IBKR session so it does not expire", async () => {
    const ibkr = (path: string, body?: unknown) =>
      env.VENUE_SIM.fetch(`https://ibkr-gw.test${path}`, {
        method: "POST",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // Idle for just under five minutes: without a request before the venue's clock moves on a second, the
    // session lapses.
    await ibkr("/__sim/ibkr/session", { authenticated: true, loggedOut: false, idleMs: 5 * 60_000 - 500 });
    await (
      exports as unknown as {
        default: { scheduled(c: { cron: string; scheduledTime: number }): Promise<void> };
      }
    ).default.scheduled({
      cron: "* * * * *",
      scheduledTime: Date.now(),
    });
    // The simulator's clock, not the test's wall clock, moves the second on.
    await ibkr("/__sim/clock", { advanceMs: 1_000 });
    try {
      const status = (await (await ibkr("/v1/api/iserver/auth/status")).json()) as { authenticated: boolean };
      expect(status.authenticated).toBe(true);
    } finally {
      await env.VENUE_SIM.fetch("https://ibkr-gw.test/__sim/clock", { method: "DELETE" });
    }
  });
});

describe("health", () => {
  it("touches the order manager and reports the Kalshi credentials without revealing them", async () => {
    const h = await execution().health();
    expect(h.ok).toBe(true);
    expect(h.checks.find((c) => c.name === "kalshi_credentials")?.detail).toBe("configured");
    expect(JSON.stringify(h)).not.toContain("PRIVATE KEY");
  });
});
