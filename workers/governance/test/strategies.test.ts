import { env } from "cloudflare:workers";
import type { GoLiveReplay, JsonValue, Principal, ReplaySummary, StrategyState } from "@paulp/contracts";
import { paramsHash } from "@paulp/replay";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import { checkTransition, compareDollars, STRATEGY_TRANSITIONS } from "../src/strategy-lifecycle";
import { alice, auditDouble, auditTypes, bob, carol, gov, TOKEN } from "./helpers";

const REPLAY_SUMMARY: ReplaySummary = {
  decisions: 12,
  orders: 4,
  fills: 3,
  startingEquity: "1000.0000",
  endingEquity: "1012.5000",
  pnl: "12.5000",
  fees: "0.8400",
  maxDrawdown: "3.1000",
  maxDrawdownFraction: "0.0031",
  turnover: "240.0000",
  denialsByCode: { position_limit: 1 },
  staleDecisionShare: "0.0000",
};

const STATES: StrategyState[] = ["draft", "paper", "pending_live", "live", "paused", "retired"];

async function paperStrategy(allocation = "1000") {
  const created = await gov().createStrategy(
    {
      name: "Fed spread",
      kind: "cross_venue_arb",
      allocation,
      venues: ["kalshi", "polymarket"],
      params: { edgeBp: 150 },
    },
    TOKEN,
  );
  if (!created.ok) throw new Error(created.error.message);
  const paper = await gov().transitionStrategy(created.value.id, "paper", TOKEN);
  if (!paper.ok) throw new Error(paper.error.message);
  return paper.value;
}

/** A replay citation of the strategy's params as they are now (the gateway checks it against the replay's record). */
async function citing(strategyId: string): Promise<GoLiveReplay> {
  const strategy = await gov().getStrategy(strategyId);
  const params = strategy.ok ? (strategy.value.params as Record<string, JsonValue>) : {};
  return {
    replayId: "rp_0123456789abcdefghijklmnop",
    reportHash: "e".repeat(64),
    paramsHash: await paramsHash(params),
    window: { from: "2026-11-20T00:00:00.000Z", to: "2026-11-27T00:00:00.000Z" },
    summary: REPLAY_SUMMARY,
  };
}

async function requestGoLive(strategyId: string, who: Principal, replay?: GoLiveReplay) {
  return gov().requestGoLive(strategyId, who, replay ?? (await citing(strategyId)));
}

async function twoApprovals(requestId: string) {
  await gov().approve(requestId, bob);
  const second = await gov().approve(requestId, carol);
  if (!second.ok || !second.value.receipt) throw new Error("no receipt");
  return second.value;
}

beforeEach(async () => {
  await auditDouble()._reset();
});

describe("strategy lifecycle table", () => {
  it("allows exactly the moves in the table; live only with a receipt; retired is terminal", () => {
    fc.assert(
      fc.property(fc.constantFrom(...STATES), fc.constantFrom(...STATES), (from, to) => {
        const result = checkTransition(from, to);
        expect(result.ok).toBe(STRATEGY_TRANSITIONS[from][to] !== undefined);
        if (to === "live" && result.ok) expect(result.via).toBe("receipt");
        if (from === "retired") expect(result.ok).toBe(false);
        if (!result.ok) expect(result.message).toContain(`strategy is ${from}`);
      }),
    );
  });

  it("matches the table written out independently: every way out of pending_live but live ends the request", () => {
    // Every allowed move as [from, to, how]; any pair not listed is refused.
    const allowed: [StrategyState, StrategyState, string][] = [
      ["draft", "paper", "direct"],
      ["draft", "retired", "direct"],
      ["paper", "pending_live", "goLiveRequest"],
      ["paper", "paused", "direct"],
      ["paper", "retired", "direct"],
      ["pending_live", "live", "receipt"],
      ["pending_live", "paper", "endsRequest"],
      ["pending_live", "paused", "endsRequest"],
      ["pending_live", "retired", "endsRequest"],
      ["live", "paused", "direct"],
      ["live", "retired", "direct"],
      ["paused", "paper", "direct"],
      ["paused", "pending_live", "goLiveRequest"],
      ["paused", "retired", "direct"],
    ];
    for (const from of STATES)
      for (const to of STATES) {
        const result = checkTransition(from, to);
        const how = allowed.find(([f, t]) => f === from && t === to)?.[2];
        expect(result.ok ? result.via : undefined, `${from} → ${to}`).toBe(how);
      }
  });

  it("compares dollar strings exactly", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 9 }), fc.integer({ min: 0, max: 10 ** 9 }), (a, b) => {
        const s = (c: number) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`;
        expect(compareDollars(s(a), s(b))).toBe(Math.sign(a - b));
      }),
    );
    expect(compareDollars("2500", "2500.00")).toBe(0);
    expect(compareDollars("2500.5", "2500.49")).toBe(1);
  });
});

describe("strategies", () => {
  it("creates a draft, validates input, and lists it", async () => {
    const bad = await gov().createStrategy(
      { name: "", kind: "X", allocation: "1.234", venues: [], params: {} },
      TOKEN,
    );
    expect(!bad.ok && bad.error.code).toBe("validation_failed");
    expect(await auditTypes()).toEqual([]);
    const created = await gov().createStrategy(
      { name: "A", kind: "mm", allocation: "250.50", venues: ["kalshi"], params: {} },
      TOKEN,
    );
    expect(created.ok && created.value.state).toBe("draft");
    expect(created.ok && created.value.createdBy).toBe("token:admin-token");
    const list = await gov().listStrategies();
    expect(list.ok && list.value.some((s) => created.ok && s.id === created.value.id)).toBe(true);
    expect(await auditTypes()).toEqual(["governance.strategy_created"]);
  });

  it("refuses moves outside the table, naming the current state", async () => {
    const created = await gov().createStrategy(
      { name: "B", kind: "mm", allocation: "100", venues: ["kalshi"], params: {} },
      TOKEN,
    );
    if (!created.ok) throw new Error();
    const goLive = await requestGoLive(created.value.id, alice);
    expect(!goLive.ok && goLive.error.message).toMatch(/strategy is draft; draft → pending_live/);
    expect((await gov().transitionStrategy(created.value.id, "retired", TOKEN)).ok).toBe(true);
    const revive = await gov().transitionStrategy(created.value.id, "paper", TOKEN);
    expect(!revive.ok && revive.error.code).toBe("conflict");
    expect(!revive.ok && revive.error.message).toMatch(/strategy is retired/);
    const active = await gov().activeStrategies();
    expect(active.ok && active.value.some((s) => s.id === created.value.id)).toBe(false);
  });

  it("refuses a go-live whose replay ran other params, or whose citation is malformed, and stays in paper", async () => {
    const s = await paperStrategy();
    const other = { ...(await citing(s.id)), paramsHash: await paramsHash({ edgeBp: 151 }) };
    const refused = await requestGoLive(s.id, alice, other);
    expect(!refused.ok && refused.error).toMatchObject({
      code: "replay_citation_refused",
      details: { reason: "replay_params_changed" },
    });
    const malformed = await gov().requestGoLive(s.id, alice, {
      ...(await citing(s.id)),
      summary: { pnl: "lots" },
    } as never);
    expect(!malformed.ok && malformed.error.code).toBe("validation_failed");
    const after = await gov().getStrategy(s.id);
    expect(after.ok && after.value.state).toBe("paper");
  });

  it("go-live walks request → first approval → second approval → live, each step audited", async () => {
    const s = await paperStrategy();
    await auditDouble()._reset();
    const requested = await requestGoLive(s.id, alice);
    if (!requested.ok) throw new Error(requested.error.message);
    expect(requested.value.strategy.state).toBe("pending_live");
    expect(requested.value.request.action).toBe("strategy.go_live");
    expect(requested.value.request.payload).toEqual({
      strategyId: s.id,
      version: s.version + 1,
      allocation: "1000",
      venues: ["kalshi", "polymarket"],
      replay: await citing(s.id),
    });
    const decision = await twoApprovals(requested.value.request.requestId);
    const live = await gov().applyStrategyApproval(
      decision.receipt!,
      "strategy.go_live",
      decision.request.payload,
      carol,
    );
    if (!live.ok) throw new Error(live.error.message);
    expect(live.value.state).toBe("live");
    const active = await gov().activeStrategies();
    expect(active.ok && active.value.find((x) => x.id === s.id)?.state).toBe("live");
    expect(await auditTypes()).toEqual([
      "governance.approval_requested",
      "governance.strategy_changed",
      "governance.approval_recorded",
      "governance.approval_granted",
      "governance.approval_executed",
      "governance.strategy_changed",
    ]);
  });

  it("go-live whose apply fails after the redemption gives the receipt back; a re-run goes live", async () => {
    const s = await paperStrategy();
    const requested = await requestGoLive(s.id, alice);
    if (!requested.ok) throw new Error(requested.error.message);
    const decision = await twoApprovals(requested.value.request.requestId);
    const id = decision.request.requestId;
    await auditDouble()._set({ failingTypes: ["governance.strategy_changed"] });
    const failed = await gov().applyStrategyApproval(
      decision.receipt!,
      "strategy.go_live",
      decision.request.payload,
      carol,
    );
    await auditDouble()._set({ failingTypes: [] });
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.error.code).toBe("audit_unavailable");
    expect(!failed.ok && failed.error.message).toContain(`approval ${id} returned: re-run it`);
    expect((await gov().getApproval(id)).ok && (await gov().getApproval(id))).toMatchObject({
      value: { status: "approved" },
    });
    expect(await auditTypes()).toContain("governance.receipt_returned");
    // What POST /admin/approvals/:id/execute does: a fresh receipt, then the apply again.
    const again = await gov().reissueReceipt(id, bob);
    if (!again.ok || !again.value.receipt) throw new Error("no reissue");
    const live = await gov().applyStrategyApproval(
      again.value.receipt,
      "strategy.go_live",
      decision.request.payload,
      bob,
    );
    expect(live.ok && live.value.state).toBe("live");
  });

  it("an older allocation approval applied after a larger one is refused, its receipt not spent", async () => {
    const s = await paperStrategy("1000");
    const open = async (allocation: string) => {
      const r = await gov().requestApproval(
        { action: "strategy.allocation_increase", payload: { strategyId: s.id, allocation } },
        alice,
      );
      if (!r.ok) throw new Error(r.error.message);
      return twoApprovals(r.value.requestId);
    };
    const a = await open("2000");
    const b = await open("3000");
    const appliedB = await gov().applyStrategyApproval(
      b.receipt!,
      "strategy.allocation_increase",
      b.request.payload,
      carol,
    );
    expect(appliedB.ok && appliedB.value.allocation).toBe("3000");
    const lateA = await gov().applyStrategyApproval(
      a.receipt!,
      "strategy.allocation_increase",
      a.request.payload,
      carol,
    );
    expect(!lateA.ok && lateA.error).toMatchObject({
      code: "conflict",
      message: expect.stringMatching(/no longer an increase over 3000/),
    });
    const list = await gov().listStrategies();
    expect(list.ok && list.value.find((x) => x.id === s.id)?.allocation).toBe("3000");
    const viewA = await gov().getApproval(a.request.requestId);
    expect(viewA.ok && viewA.value.status).toBe("approved");
  });

  it("an apply that throws after its write keeps the receipt spent (it may have applied)", async () => {
    const { applyStrategyApproval } = await import("../src/strategy-ops");
    const { contextAt } = await import("../src/operation-support");
    const s = await paperStrategy("1000");
    const r = await gov().requestApproval(
      { action: "strategy.allocation_increase", payload: { strategyId: s.id, allocation: "1500" } },
      alice,
    );
    if (!r.ok) throw new Error(r.error.message);
    const d = await twoApprovals(r.value.requestId);
    // D1 commits the UPDATE, then fails the read that follows it.
    const real = env.D1_GOVERNANCE;
    let updated = false;
    const flaky = {
      prepare(sql: string) {
        const stmt = real.prepare(sql);
        if (updated && sql.startsWith("SELECT")) throw new Error("D1 went away");
        if (sql.startsWith("UPDATE strategies")) updated = true;
        return stmt;
      },
      batch: real.batch.bind(real),
    } as unknown as D1Database;
    const result = await applyStrategyApproval(
      { ...contextAt({ ...(env as unknown as Env), D1_GOVERNANCE: flaky }, Date.now), actor: carol },
      d.receipt!,
      "strategy.allocation_increase",
      d.request.payload,
    );
    expect(!result.ok && result.error.message).toMatch(/not returned: the change may have been written/);
    const list = await gov().listStrategies();
    expect(list.ok && list.value.find((x) => x.id === s.id)?.allocation).toBe("1500");
    const view = await gov().getApproval(d.request.requestId);
    expect(view.ok && view.value.status).toBe("executed");
    expect(await auditTypes()).not.toContain("governance.receipt_returned");
  });

  it("the admin token cannot request go-live (refused and audited; nothing changes)", async () => {
    const s = await paperStrategy();
    await auditDouble()._reset();
    const res = await requestGoLive(s.id, TOKEN);
    expect(!res.ok && res.error.code).toBe("forbidden");
    const list = await gov().listStrategies();
    expect(list.ok && list.value.find((x) => x.id === s.id)?.state).toBe("paper");
    expect(await auditTypes()).toEqual(["governance.approval_refused"]);
  });

  it("go-live is refused without a valid receipt, and with a receipt for something else", async () => {
    const s = await paperStrategy();
    const requested = await requestGoLive(s.id, alice);
    if (!requested.ok) throw new Error();
    const payload = requested.value.request.payload;
    const none = await gov().applyStrategyApproval(
      { requestId: requested.value.request.requestId, receiptToken: "x".repeat(43) },
      "strategy.go_live",
      payload,
      carol,
    );
    expect(!none.ok && none.error.code).toBe("approval_required");
    // An approved allocation increase does not take another strategy live.
    const other = await paperStrategy("10");
    const inc = await gov().requestApproval(
      { action: "strategy.allocation_increase", payload: { strategyId: other.id, allocation: "20" } },
      alice,
    );
    if (!inc.ok) throw new Error(inc.error.message);
    const incDecision = await twoApprovals(inc.value.requestId);
    const wrong = await gov().applyStrategyApproval(incDecision.receipt!, "strategy.go_live", payload, carol);
    expect(!wrong.ok && wrong.error.code).toBe("approval_required");
    const list = await gov().listStrategies();
    expect(list.ok && list.value.find((x) => x.id === s.id)?.state).toBe("pending_live");
  });

  it("a strategy changed after the request cannot go live on the old approval", async () => {
    const s = await paperStrategy();
    const requested = await requestGoLive(s.id, alice);
    if (!requested.ok) throw new Error();
    const decision = await twoApprovals(requested.value.request.requestId);
    // Back to paper, then a fresh pending_live: the version moved on.
    await gov().transitionStrategy(s.id, "paper", TOKEN);
    const again = await requestGoLive(s.id, alice);
    if (!again.ok) throw new Error();
    const stale = await gov().applyStrategyApproval(
      decision.receipt!,
      "strategy.go_live",
      decision.request.payload,
      carol,
    );
    expect(!stale.ok && stale.error.code).toBe("conflict");
    expect(!stale.ok && stale.error.message).toMatch(/changed since go-live was requested/);
    const list = await gov().listStrategies();
    expect(list.ok && list.value.find((x) => x.id === s.id)?.state).toBe("pending_live");
  });

  it("allocation increases need an increase, two approvals and the receipt", async () => {
    const s = await paperStrategy("1000");
    const lower = await gov().requestApproval(
      { action: "strategy.allocation_increase", payload: { strategyId: s.id, allocation: "900" } },
      alice,
    );
    expect(!lower.ok && lower.error.message).toMatch(/not an increase/);
    const req = await gov().requestApproval(
      { action: "strategy.allocation_increase", payload: { strategyId: s.id, allocation: "1500" } },
      alice,
    );
    if (!req.ok) throw new Error(req.error.message);
    const decision = await twoApprovals(req.value.requestId);
    const tampered = await gov().applyStrategyApproval(
      decision.receipt!,
      "strategy.allocation_increase",
      { strategyId: s.id, allocation: "15000" },
      carol,
    );
    expect(!tampered.ok && tampered.error.message).toMatch(/payload differs/);
    const applied = await gov().applyStrategyApproval(
      decision.receipt!,
      "strategy.allocation_increase",
      { strategyId: s.id, allocation: "1500" },
      carol,
    );
    expect(applied.ok && applied.value.allocation).toBe("1500");
  });

  it("a rejected go-live request takes the strategy back to the state it left; the move is audited", async () => {
    for (const start of ["paper", "paused"] as const) {
      const s = await paperStrategy();
      if (start === "paused") await gov().transitionStrategy(s.id, "paused", TOKEN);
      const requested = await requestGoLive(s.id, alice);
      if (!requested.ok) throw new Error(requested.error.message);
      await auditDouble()._reset();
      const rejected = await gov().reject(requested.value.request.requestId, "not yet", bob);
      expect(rejected.ok && rejected.value.status).toBe("rejected");
      const listed = await gov().listStrategies();
      expect(listed.ok && listed.value.find((x) => x.id === s.id)).toMatchObject({
        state: start,
        pendingRequestId: null,
      });
      expect(await auditTypes()).toEqual(["governance.approval_rejected", "governance.strategy_changed"]);
    }
  });

  it("a go-live request that expires takes its strategy back too", async () => {
    const s = await paperStrategy();
    const requested = await requestGoLive(s.id, alice);
    if (!requested.ok) throw new Error(requested.error.message);
    const { request } = requested.value;
    const desk = env.APPROVAL_DESK.get(env.APPROVAL_DESK.idFromName("desk")) as unknown as {
      approve: (id: string, actor: unknown, now: number, hash: string) => Promise<{ ok: boolean }>;
    };
    const late = await desk.approve(
      request.requestId,
      bob,
      Date.parse(request.expiresAt) + 1,
      "f".repeat(64),
    );
    expect(late.ok).toBe(false);
    const listed = await gov().listStrategies();
    expect(listed.ok && listed.value.find((x) => x.id === s.id)?.state).toBe("paper");
  });

  it("pausing, retiring or papering a pending_live strategy cancels its go-live request", async () => {
    for (const to of ["paused", "retired", "paper"] as const) {
      const s = await paperStrategy();
      const requested = await requestGoLive(s.id, alice);
      if (!requested.ok) throw new Error(requested.error.message);
      const id = requested.value.request.requestId;
      await gov().approve(id, bob);
      const moved = await gov().transitionStrategy(s.id, to, TOKEN);
      expect(moved.ok && moved.value).toMatchObject({ state: to, pendingRequestId: null });
      const view = await gov().getApproval(id);
      expect(view.ok && view.value).toMatchObject({
        status: "cancelled",
        cancellation: { by: "token:admin-token", reason: `strategy moved to ${to}` },
      });
      const late = await gov().approve(id, carol);
      expect(!late.ok && late.error.message).toMatch(/cancelled/);
    }
  });

  it("a move out of pending_live whose cancel cannot be audited does not happen", async () => {
    const s = await paperStrategy();
    const requested = await requestGoLive(s.id, alice);
    if (!requested.ok) throw new Error(requested.error.message);
    await auditDouble()._set({ failingTypes: ["governance.approval_cancelled"] });
    const paused = await gov().transitionStrategy(s.id, "paused", TOKEN);
    expect(!paused.ok && paused.error.code).toBe("audit_unavailable");
    await auditDouble()._set({ failingTypes: [] });
    const view = await gov().getApproval(requested.value.request.requestId);
    expect(view.ok && view.value.status).toBe("pending");
    const listed = await gov().listStrategies();
    expect(listed.ok && listed.value.find((x) => x.id === s.id)?.state).toBe("pending_live");
  });

  it("a go-live request whose strategy could not move to pending_live is cancelled at once", async () => {
    const s = await paperStrategy();
    await auditDouble()._set({ failingTypes: ["governance.strategy_changed"] });
    const requested = await requestGoLive(s.id, alice);
    expect(!requested.ok && requested.error.code).toBe("audit_unavailable");
    await auditDouble()._set({ failingTypes: [] });
    const open = await gov().listApprovals({ status: "pending" });
    const payloads = open.ok ? open.value.map((r) => (r.payload as { strategyId?: string }).strategyId) : [];
    expect(payloads).not.toContain(s.id);
  });

  it("pause and retire need no approval; resuming live does", async () => {
    const s = await paperStrategy();
    const requested = await requestGoLive(s.id, alice);
    if (!requested.ok) throw new Error();
    const decision = await twoApprovals(requested.value.request.requestId);
    await gov().applyStrategyApproval(decision.receipt!, "strategy.go_live", decision.request.payload, carol);
    const paused = await gov().transitionStrategy(s.id, "paused", TOKEN);
    expect(paused.ok && paused.value.state).toBe("paused");
    const resume = await requestGoLive(s.id, alice);
    expect(resume.ok && resume.value.strategy.state).toBe("pending_live");
    const retired = await gov().transitionStrategy(s.id, "retired", TOKEN);
    expect(retired.ok && retired.value.state).toBe("retired");
  });
});

describe("getStrategy (execution checks every order's strategy exists)", () => {
  it("answers one strategy in any state, not_found for an id nobody created, and refuses a bad id", async () => {
    const s = await paperStrategy();
    expect(await gov().getStrategy(s.id)).toEqual({
      ok: true,
      value: {
        id: s.id,
        name: s.name,
        kind: s.kind,
        state: "paper",
        allocation: s.allocation,
        venues: s.venues,
        params: s.params,
      },
    });
    await gov().transitionStrategy(s.id, "retired", TOKEN);
    expect(await gov().getStrategy(s.id)).toMatchObject({ ok: true, value: { state: "retired" } });
    expect(await gov().getStrategy("no-such-strategy")).toMatchObject({
      ok: false,
      error: { code: "not_found", message: "no strategy no-such-strategy" },
    });
    expect(await gov().getStrategy("x".repeat(65))).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
  });
});
