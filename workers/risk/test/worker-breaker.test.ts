import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { BreakerState, BreakerStatus, Result } from "@paulp/contracts";
import { describe, expect, it, vi } from "vitest";
import {
  anchorActors,
  approval,
  audit,
  entriesOf,
  freshMark,
  governance,
  intentMaker,
  operator,
  redeemCalls,
  returnedReceipts,
  risk,
  strategyActor,
  testEnv,
  transitionAtCurrent,
} from "./worker-helpers";

const person = { method: "access" as const, subject: "p1", email: "p1@example.com" };
const intent = intentMaker("brk", { strategyId: "s1", market: "MKT-A", quantity: 100 });

async function state(): Promise<BreakerStatus> {
  const r = await risk().getBreaker();
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

async function toState(target: BreakerState): Promise<void> {
  // Walk the table to `target` from wherever the breaker is (HALT is always reachable).
  await risk().transitionBreaker({ targetState: "HALT", reason: "reset" }, operator);
  if (target === "HALT") return;
  await transitionAtCurrent("RECOVERY", "reset");
  if (target === "RECOVERY") return;
  await governance()._set({ redeemAnswer: { ok: true, value: approval("breaker.recovery_to_normal") } });
  const expectedVersion = (await state()).version;
  await risk().transitionBreaker({ targetState: "NORMAL", reason: "reset", expectedVersion }, person, {
    requestId: "req-1",
    receiptToken: "tok",
  });
  await governance()._reset();
  if (target === "CAUTION") await transitionAtCurrent("CAUTION", "reset");
}

/** From NORMAL, HALT while audit refuses appends: applied at once, its record held back. Audit stays down. */
async function haltWhileAuditIsDown(): Promise<void> {
  await toState("NORMAL");
  await audit()._reset();
  await audit()._set({ failing: true });
  expect(
    await risk().transitionBreaker({ targetState: "HALT", reason: "audit down, halt anyway" }, operator),
  ).toMatchObject({ ok: true, value: { state: "HALT" } });
}

describe("the breaker over RPC", () => {
  it("the specification's halt: { targetState: HALT, reason } from NORMAL, audited with principal, reason and counts", async () => {
    const before = await state();
    expect(before.state).toBe("NORMAL");
    const r = await risk().transitionBreaker({ targetState: "HALT", reason: "Emergency halt" }, operator);
    expect(r).toMatchObject({
      ok: true,
      value: {
        state: "HALT",
        version: before.version + 1,
        reason: "Emergency halt",
        changedBy: "token:admin-token",
      },
    });
    const [t] = await entriesOf("risk.breaker_transition");
    expect(t).toMatchObject({
      actor: operator,
      payload: {
        from: "NORMAL",
        to: "HALT",
        reason: "Emergency halt",
        version: before.version + 1,
        counts: {},
      },
    });
    // HALT is always allowed, even from HALT.
    expect(await risk().transitionBreaker({ targetState: "HALT", reason: "again" }, operator)).toMatchObject({
      ok: true,
      value: { state: "HALT" },
    });
  });

  it("anchors the audit chain right after a transition (a critical event), acting as who moved it", async () => {
    const before = (await anchorActors()).length;
    expect((await risk().transitionBreaker({ targetState: "HALT", reason: "anchor me" }, operator)).ok).toBe(
      true,
    );
    // The anchor runs after the answer (waitUntil): the audit double answers once it has arrived.
    await audit()._arrivals("anchorNow", before + 1);
    const calls = await anchorActors();
    expect(calls.length).toBe(before + 1);
    expect(calls.at(-1)).toEqual(operator);
  });

  // The anchor goes through rpc() (#17): a refusal is logged with its reason, and a throw as the mapped failure.
  it("logs an anchor after a transition that the chain refuses or throws on, naming why", async () => {
    const logged = vi.spyOn(console, "error");
    try {
      for (const [planted, why] of [
        [
          { ok: false, error: { code: "audit_unavailable", message: "chain busy" } },
          "audit_unavailable: chain busy",
        ],
        ["throw", "audit_unavailable: audit.anchorNow failed: audit down"],
      ] as const) {
        await audit()._set({ anchor: planted });
        // The anchor runs after the answer (waitUntil): its log line is the event waited for.
        const line = new Promise<string>((resolve) =>
          logged.mockImplementation((message: unknown) => {
            if (String(message).startsWith("anchor after breaker transition")) resolve(String(message));
          }),
        );
        expect((await risk().transitionBreaker({ targetState: "HALT", reason: "anchor" }, operator)).ok).toBe(
          true,
        );
        expect(await line).toBe(`anchor after breaker transition failed: ${why}`);
      }
    } finally {
      logged.mockRestore();
    }
  });

  it("refuses pairs outside the table naming the current state, and RECOVERY by a non-operator", async () => {
    await toState("HALT");
    await audit()._reset();
    expect(await risk().transitionBreaker({ targetState: "NORMAL", reason: "x" }, operator)).toMatchObject({
      ok: false,
      error: { code: "conflict", message: expect.stringContaining("current state HALT") },
    });
    expect(await risk().transitionBreaker({ targetState: "CAUTION", reason: "x" }, operator)).toMatchObject({
      ok: false,
      error: { code: "conflict" },
    });
    expect(
      await risk().transitionBreaker({ targetState: "RECOVERY", reason: "x" }, strategyActor),
    ).toMatchObject({ ok: false, error: { code: "forbidden" } });
    expect((await state()).state).toBe("HALT");
    expect(await entriesOf("risk.breaker_transition")).toEqual([]);
  });

  it("a recover decided on an old HALT cannot override a newer one: every transition but HALT names its version", async () => {
    await toState("HALT");
    const seen = await state(); // the operator looks: HALT for the old cause
    // A newer HALT lands (drift found), which the operator has not seen.
    await risk().transitionBreaker({ targetState: "HALT", reason: "reconciliation drift" }, operator);
    await audit()._reset();
    // Without a version: refused, naming the state and version it would have acted on.
    expect(
      await risk().transitionBreaker({ targetState: "RECOVERY", reason: "old cause fixed" }, operator),
    ).toMatchObject({
      ok: false,
      error: {
        code: "validation_failed",
        message: `expectedVersion: HALT → RECOVERY names the breaker version it acts on (current HALT v${seen.version + 1})`,
        details: { state: "HALT", version: seen.version + 1 },
      },
    });
    // With the version it saw: stale, refused with the current state and version.
    expect(
      await risk().transitionBreaker(
        { targetState: "RECOVERY", reason: "old cause fixed", expectedVersion: seen.version },
        operator,
      ),
    ).toMatchObject({
      ok: false,
      error: {
        code: "conflict",
        message: `stale transition: expected version ${seen.version}, current HALT v${seen.version + 1}`,
        details: { state: "HALT", version: seen.version + 1 },
      },
    });
    expect(await state()).toMatchObject({ state: "HALT", reason: "reconciliation drift" });
    expect(await entriesOf("risk.breaker_transition")).toEqual([]);
    // Naming the current version (after reading the newer HALT): applied.
    expect(
      await risk().transitionBreaker(
        { targetState: "RECOVERY", reason: "drift explained", expectedVersion: seen.version + 1 },
        operator,
      ),
    ).toMatchObject({ ok: true, value: { state: "RECOVERY", version: seen.version + 2 } });
    // The same for CAUTION ↔ NORMAL; HALT alone needs no version.
    await toState("CAUTION");
    expect(await risk().transitionBreaker({ targetState: "NORMAL", reason: "calm" }, operator)).toMatchObject(
      { ok: false, error: { code: "validation_failed" } },
    );
    expect((await transitionAtCurrent("NORMAL", "calm")).ok).toBe(true);
    expect(
      await risk().transitionBreaker({ targetState: "CAUTION", reason: "wary" }, operator),
    ).toMatchObject({ ok: false, error: { code: "validation_failed" } });
  });

  it("RECOVERY → NORMAL needs a redeemed breaker.recovery_to_normal receipt for exactly { targetState, reason, expectedVersion }", async () => {
    await toState("RECOVERY");
    await audit()._reset();
    const version = (await state()).version;
    const unbound = { targetState: "NORMAL" as const, reason: "all clear" };
    // Without the version of the RECOVERY it ends: approval required, and the payload to request names it.
    expect(await risk().transitionBreaker(unbound, person)).toMatchObject({
      ok: false,
      error: {
        code: "approval_required",
        details: { action: "breaker.recovery_to_normal", payload: { ...unbound, expectedVersion: version } },
      },
    });
    // A receipt for an unbound request is refused before governance is asked.
    expect(
      await risk().transitionBreaker(unbound, person, { requestId: "req-0", receiptToken: "tok" }),
    ).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    const request = { ...unbound, expectedVersion: version };
    expect(await risk().transitionBreaker(request, person)).toMatchObject({
      ok: false,
      error: { code: "approval_required" },
    });
    expect(await redeemCalls()).toEqual([]);
    // Governance refuses the receipt: nothing changes.
    await governance()._set({
      redeemAnswer: {
        ok: false,
        error: { code: "conflict", message: "receipt already executed" },
      },
    });
    expect(
      await risk().transitionBreaker(request, person, { requestId: "req-1", receiptToken: "tok" }),
    ).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect((await state()).state).toBe("RECOVERY");
    expect(await entriesOf("risk.breaker_transition")).toEqual([]);
    // Governance redeems it: NORMAL, audited with the approvers.
    await governance()._set({ redeemAnswer: { ok: true, value: approval("breaker.recovery_to_normal") } });
    expect(
      await risk().transitionBreaker(request, person, { requestId: "req-1", receiptToken: "tok" }),
    ).toMatchObject({ ok: true, value: { state: "NORMAL" } });
    const calls = await redeemCalls();
    expect(calls.at(-1)).toMatchObject({
      action: "breaker.recovery_to_normal",
      payload: request,
      receipt: { requestId: "req-1", receiptToken: "tok" },
    });
    const [t] = await entriesOf("risk.breaker_transition");
    expect(t!.payload).toMatchObject({
      from: "RECOVERY",
      to: "NORMAL",
      approval: { requestId: "req-1", approvers: ["a@example.com", "b@example.com"] },
    });
  });

  it("RECOVERY → NORMAL redeemed but not audited stays in RECOVERY and gives the receipt back", async () => {
    await toState("RECOVERY");
    const request = {
      targetState: "NORMAL" as const,
      reason: "all clear",
      expectedVersion: (await state()).version,
    };
    const receipt = { requestId: "req-1", receiptToken: "tok" };
    await governance()._set({ redeemAnswer: { ok: true, value: approval("breaker.recovery_to_normal") } });
    await audit()._set({ failing: true });
    const r = await risk().transitionBreaker(request, person, receipt);
    await audit()._set({ failing: false });
    expect(r).toMatchObject({ ok: false, error: { code: "audit_unavailable" } });
    expect(!r.ok && r.error.message).toMatch(/; approval req-1 returned: re-run it/);
    expect((await state()).state).toBe("RECOVERY");
    expect(await returnedReceipts()).toEqual([
      { receipt, reason: expect.stringMatching(/^apply failed: transition not applied/), actor: person },
    ]);
  });

  it("loosening is not applied when its audit fails; tightening is applied and audited later", async () => {
    await toState("HALT");
    await audit()._set({ failing: true });
    expect(await transitionAtCurrent("RECOVERY", "try")).toMatchObject({
      ok: false,
      error: { code: "audit_unavailable" },
    });
    expect((await state()).state).toBe("HALT");
    await audit()._set({ failing: false });
    await haltWhileAuditIsDown();
    await audit()._set({ failing: false });
    await transitionAtCurrent("RECOVERY", "next");
    const to = (await entriesOf("risk.breaker_transition")).map((e) => (e.payload as { to: string }).to);
    expect(to).toEqual(["HALT", "RECOVERY"]);
  });

  it("a transition held back while audit was down reaches the chain on its own (alarm), and anchors", async () => {
    await haltWhileAuditIsDown();
    expect(await entriesOf("risk.breaker_transition")).toEqual([]);
    const stub = testEnv.CIRCUIT_BREAKER.getByName("breaker");
    // Armed when the event was held back.
    expect(await runInDurableObject(stub, (_o, state) => state.storage.getAlarm())).not.toBeNull();
    await audit()._set({ failing: false });
    // Nothing else happens: the alarm alone appends it and anchors.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const to = (await entriesOf("risk.breaker_transition")).map((e) => (e.payload as { to: string }).to);
    expect(to).toEqual(["HALT"]);
    expect((await anchorActors()).length).toBeGreaterThan(0);
    expect(await runInDurableObject(stub, (_o, state) => state.storage.get("outbox"))).toEqual([]);
  });

  it("consecutive failures: venue errors move NORMAL → CAUTION at 3, a success resets; any failure in RECOVERY → HALT", async () => {
    await toState("NORMAL");
    await risk().reportSuccess("venue_api_error");
    await risk().reportFailure("venue_api_error", "500 from kalshi", strategyActor);
    await risk().reportFailure("venue_api_error", "500 from kalshi", strategyActor);
    await risk().reportSuccess("venue_api_error");
    await risk().reportFailure("venue_api_error", "500 from kalshi", strategyActor);
    await risk().reportFailure("venue_api_error", "500 from kalshi", strategyActor);
    expect((await state()).state).toBe("NORMAL");
    const third = await risk().reportFailure("venue_api_error", "500 from kalshi", strategyActor);
    expect(third).toMatchObject({
      ok: true,
      value: { state: "CAUTION", consecutiveFailures: { venue_api_error: 3 } },
    });
    const [t] = (await entriesOf("risk.breaker_transition")).filter(
      (e) => (e.payload as { to: string }).to === "CAUTION",
    );
    expect(t).toMatchObject({
      actor: strategyActor,
      payload: { trigger: "failure:venue_api_error", counts: { venue_api_error: 3 } },
    });
    await toState("RECOVERY");
    expect(await risk().reportFailure("venue_api_error", "one more", strategyActor)).toMatchObject({
      ok: true,
      value: { state: "HALT" },
    });
    expect(await risk().reportFailure("bogus" as never, "x", strategyActor)).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
  });

  it("a race of concurrent transitions ends in one consistent, audited state", async () => {
    await toState("HALT");
    await audit()._reset();
    const start = await state();
    // Ten operators at once, all believing the version they saw: RECOVERY attempts race HALTs.
    const requests = Array.from({ length: 10 }, (_, k) =>
      risk().transitionBreaker(
        { targetState: k % 2 === 0 ? "RECOVERY" : "HALT", reason: `op ${k}`, expectedVersion: start.version },
        { method: "access", subject: `op${k}`, email: `op${k}@example.com` },
      ),
    );
    const results: Result<BreakerStatus>[] = await Promise.all(requests);
    const won = results.filter((r) => r.ok);
    const end = await state();
    expect(end.version).toBe(start.version + won.length);
    // Every applied transition was audited, with consecutive versions, ending in the final state.
    const audited = (await entriesOf("risk.breaker_transition")).map(
      (e) => e.payload as { to: string; version: number },
    );
    expect(audited.map((a) => a.version)).toEqual(
      Array.from({ length: won.length }, (_, k) => start.version + 1 + k),
    );
    expect(audited.at(-1)!.to).toBe(end.state);
    // At most one RECOVERY attempt can win: after the first change the others' expectedVersion is stale.
    const recoveries = results.filter((r, k) => k % 2 === 0 && r.ok);
    expect(recoveries.length).toBeLessThanOrEqual(1);
    for (const [k, r] of results.entries()) if (!r.ok) expect(k % 2).toBe(0);
  });
});

describe("HALT and the loss limits over RPC", () => {
  it("a daily-loss breach reported by marks sends the breaker to HALT; HALT denies opening, allows reducing", async () => {
    await toState("NORMAL");
    await risk().recordMarks([freshMark("MKT-L", "0.50"), freshMark("MKT-O", "0.50")]);
    await risk().recordFills([
      {
        fillId: "loss-1",
        strategyId: "s1",
        venue: "kalshi",
        market: "MKT-L",
        side: "buy",
        quantity: 10_000,
        price: "0.50",
        fee: "0",
        clientOrderId: "x",
        ts: new Date().toISOString(),
      },
    ]);
    // $5,000 of contracts at 0.50 fall to 0.10: a $4,000 loss = 4 % of the day's $100,000.
    await audit()._reset();
    expect(await risk().recordMarks([freshMark("MKT-L", "0.10")])).toEqual({
      ok: true,
      value: { applied: 1 },
    });
    const halted = await state();
    expect(halted).toMatchObject({
      state: "HALT",
      changedBy: "system:risk",
      reason: "daily_loss limit breached",
    });
    expect((await entriesOf("risk.breaker_transition"))[0]).toMatchObject({
      payload: { to: "HALT", trigger: "loss_limit" },
    });

    const opening = await risk().evaluate(intent({ market: "MKT-O" }), strategyActor, "decide");
    expect(opening.ok && opening.value.approved).toBe(false);
    expect(opening.ok && opening.value.reasons.map((r) => r.code)).toEqual([
      "BREAKER_HALTED",
      "DAILY_LOSS_LIMIT_EXCEEDED",
    ]);
    expect(
      await risk().consume(
        opening.ok ? opening.value.decisionId : "",
        opening.ok ? opening.value.intentHash : "",
      ),
    ).toMatchObject({ ok: false, error: { code: "risk_denied" } });
    const reducing = await risk().evaluate(
      intent({ market: "MKT-L", side: "sell", effect: "reduce", quantity: 1_000, limitPrice: "0.10" }),
      strategyActor,
      "decide",
    );
    expect(reducing).toMatchObject({ ok: true, value: { approved: true, breakerState: "HALT" } });
    if (reducing.ok)
      expect(await risk().consume(reducing.value.decisionId, reducing.value.intentHash)).toMatchObject({
        ok: true,
      });
    const x = await risk().exposure();
    expect(x.ok && x.value.limits.find((l) => l.limit === "maxDailyLossPct")).toMatchObject({
      observedPct: "4.0000",
      limitPct: "3.0000",
    });
  });
});
