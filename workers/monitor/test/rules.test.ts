import type { AuditStatus, ExecutionMonitorStats, IngestionStatus, RiskMonitorStats } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { ALERT_TRANSITIONS, applyObservations } from "../src/alert-table";
import { renderMetrics } from "../src/metrics";
import type { IngestionSignal } from "../src/observation";
import { DEFAULT_RULES, observe, parseRuleConfig, type RuleMemory, type Snapshot } from "../src/rules";
import { ingestionSignal } from "../src/signals";

// The raise/clear rules and the alert lifecycle table, without any worker: values in, values out.

describe("the alert lifecycle table", () => {
  it("matches an independently written table for all nine pairs", () => {
    const expected = [
      ["inactive", "clear", null],
      ["inactive", "warning", "raised"],
      ["inactive", "critical", "raised"],
      ["warning", "clear", "cleared"],
      ["warning", "warning", null],
      ["warning", "critical", "escalated"],
      ["critical", "clear", "cleared"],
      ["critical", "warning", "deescalated"],
      ["critical", "critical", null],
    ] as const;
    for (const [from, reading, action] of expected)
      expect(ALERT_TRANSITIONS[from][reading], `${from} + ${reading}`).toBe(action);
    expect(Object.values(ALERT_TRANSITIONS).flatMap((r) => Object.keys(r))).toHaveLength(9);
  });

  const obs = (key: string, severity: "warning" | "critical" | null, source = "risk" as const) => ({
    key,
    kind: "risk_denials" as const,
    source,
    severity,
    title: key,
    detail: `${key} ${severity}`,
    labels: {},
  });

  it("raises, escalates, clears; keeps an unobserved alert while its source is down, clears it once it answers", () => {
    const t = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();
    let state = applyObservations({}, [obs("a", "warning"), obs("b", null)], new Set(), t(0));
    expect(state.changes.map((c) => [c.alert.key, c.action])).toEqual([["a", "raised"]]);
    state = applyObservations(state.active, [obs("a", "critical")], new Set(), t(1));
    expect(state.changes.map((c) => c.action)).toEqual(["escalated"]);
    expect(state.active.a).toMatchObject({ severity: "critical", raisedAt: t(0), updatedAt: t(1) });
    // Risk did not answer: "a" is not observed and is kept.
    state = applyObservations(state.active, [], new Set(["risk"]), t(2));
    expect(state.changes).toEqual([]);
    expect(state.active.a?.status).toBe("active");
    // Risk answered and no longer reports "a": cleared.
    state = applyObservations(state.active, [], new Set(), t(3));
    expect(state.changes).toMatchObject([
      { action: "cleared", alert: { key: "a", clearedAt: t(3), status: "cleared" } },
    ]);
    expect(state.active).toEqual({});
  });
});

const breaker = (state: RiskMonitorStats["breaker"]["state"]): RiskMonitorStats["breaker"] => ({
  state,
  version: 3,
  since: "2026-01-01T00:00:00.000Z",
  reason: "test",
  changedBy: "token:admin-token",
  consecutiveFailures: {},
  thresholds: {},
  cautionThresholds: {},
});

function risk(over: Partial<RiskMonitorStats> = {}): RiskMonitorStats {
  return {
    decisions: { approved: 0, denied: 0, deniedByCode: {} },
    breaker: breaker("NORMAL"),
    transitions: {},
    heldMarks: [],
    exposure: null,
    ...over,
  };
}

function audit(over: Partial<AuditStatus> = {}): AuditStatus {
  return {
    headSeq: 10,
    headHash: "a".repeat(64),
    entryCount: 10,
    lastAnchor: null,
    lastAnchorAgeSeconds: null,
    unanchoredEntries: 10,
    r2MirrorLag: 0,
    r2MirrorError: null,
    lastVerification: null,
    integrity: "ok",
    lastFullVerification: null,
    lastFullVerificationAgeSeconds: null,
    oldestUnanchoredAgeSeconds: null,
    anchorVerifierKey: null,
    alerts: [],
    ...over,
  };
}

function snapshot(over: Partial<Snapshot> = {}, atMs = 1_000_000): Snapshot {
  return { atMs, risk: risk(), audit: audit(), ingestion: null, execution: null, unavailable: [], ...over };
}

const EMPTY: RuleMemory = { counters: null, noAnchorSinceMs: null };
const NO_OBLIGATIONS = { open: 0, oldestFirstSeenAt: null, oldestAgeSeconds: null, unhedgedQuantity: 0 };
const severities = (s: Snapshot, m: RuleMemory = EMPTY) =>
  Object.fromEntries(
    observe(s, m, DEFAULT_RULES)
      .observations.filter((o) => o.severity)
      .map((o) => [o.key, o.severity]),
  );

describe("the rules", () => {
  it("grade the breaker: CAUTION and RECOVERY warn, HALT is critical, NORMAL is clear", () => {
    expect(severities(snapshot({ risk: risk({ breaker: breaker("HALT") }) })).breaker_state).toBe("critical");
    expect(severities(snapshot({ risk: risk({ breaker: breaker("CAUTION") }) })).breaker_state).toBe(
      "warning",
    );
    expect(severities(snapshot({ risk: risk({ breaker: breaker("RECOVERY") }) })).breaker_state).toBe(
      "warning",
    );
    expect(severities(snapshot()).breaker_state).toBeUndefined();
  });

  it("count denials per code since the last evaluation, not since the beginning", () => {
    const first = observe(
      snapshot({ risk: risk({ decisions: { approved: 0, denied: 9, deniedByCode: { STALE_MARK: 9 } } }) }),
      EMPTY,
      DEFAULT_RULES,
    );
    // The first evaluation has nothing to compare with: old denials are no rate.
    expect(first.observations.find((o) => o.key === "risk_denials:STALE_MARK")?.severity).toBeNull();
    const next = (stale: number, loss: number) =>
      severities(
        snapshot({
          risk: risk({
            decisions: {
              approved: 0,
              denied: stale + loss,
              deniedByCode: { STALE_MARK: stale, DAILY_LOSS_LIMIT_EXCEEDED: loss },
            },
          }),
        }),
        first.memory,
      );
    expect(next(11, 0)["risk_denials:STALE_MARK"]).toBeUndefined(); // 2 more: under 3
    expect(next(12, 0)["risk_denials:STALE_MARK"]).toBe("warning");
    expect(next(9, 1)["risk_denials:DAILY_LOSS_LIMIT_EXCEEDED"]).toBe("critical"); // one loss-limit denial
  });

  it("see the chain's gaps: broken integrity, an anchor older than 90 minutes, a lagging or failing mirror", () => {
    expect(severities(snapshot({ audit: audit({ integrity: "broken" }) })).audit_integrity).toBe("critical");
    const anchor = {
      anchorNo: 1,
      toSeq: 5,
      headHash: "",
      prevAnchorHash: "",
      anchoredAt: "",
      r2ManifestHash: "",
      anchorHash: "",
    };
    expect(
      severities(snapshot({ audit: audit({ lastAnchor: anchor, lastAnchorAgeSeconds: 5_400 }) }))
        .audit_anchor_age,
    ).toBeUndefined();
    expect(
      severities(snapshot({ audit: audit({ lastAnchor: anchor, lastAnchorAgeSeconds: 5_401 }) }))
        .audit_anchor_age,
    ).toBe("warning");
    // Never anchored: counted from when the monitor first saw entries without an anchor.
    const seen = observe(snapshot({}, 0), EMPTY, DEFAULT_RULES).memory;
    expect(seen.noAnchorSinceMs).toBe(0);
    expect(severities(snapshot({}, 5_401_000), seen).audit_anchor_age).toBe("warning");
    expect(severities(snapshot({ audit: audit({ r2MirrorLag: 1_001 }) })).audit_mirror_lag).toBe("warning");
    expect(severities(snapshot({ audit: audit({ r2MirrorError: "R2 down" }) })).audit_mirror_lag).toBe(
      "warning",
    );
  });

  it("rate trading errors per venue since the last evaluation, grade market data by its last run, and see evidence that cannot be vouched for", () => {
    const exec = (n: number): ExecutionMonitorStats => ({
      ordersByState: {},
      venueErrors: { kalshi: { unavailable: n } },
      lastReconciliation: null,
      hedgeObligations: NO_OBLIGATIONS,
    });
    const base = observe(snapshot({ execution: exec(1) }), EMPTY, DEFAULT_RULES).memory;
    expect(severities(snapshot({ execution: exec(2) }), base)["venue_errors:trading:kalshi"]).toBe("warning");
    expect(severities(snapshot({ execution: exec(6) }), base)["venue_errors:trading:kalshi"]).toBe(
      "critical",
    );
    expect(severities(snapshot({ execution: exec(1) }), base)["venue_errors:trading:kalshi"]).toBeUndefined();
    const run = (outcome: "ok" | "failed", failures: number): IngestionStatus => ({
      venues: {
        kalshi: {
          lastRun: {
            venue: "kalshi",
            startedAt: "2026-01-01T00:00:00.000Z",
            finishedAt: "2026-01-01T00:00:02.000Z",
            outcome,
            pages: 1,
            fetched: 0,
            stored: 0,
            rejected: 0,
            blocked: 0,
            errors: outcome === "ok" ? {} : { http_5xx: 1 },
            passCompleted: false,
          },
          consecutiveFailures: failures,
          lastOkAt: null,
          passesCompleted: 0,
          cursor: null,
          storedMarkets: 0,
          errorsRecent: {},
        },
      } as IngestionStatus["venues"],
      evidenceCount: 0,
      rejectedEvidence: 0,
      rulesVersion: 1,
      evidenceIndex: {
        passesCompleted: 0,
        midPass: false,
        recordedTotal: 0,
        unvouchedTotal: 0,
        unvouchedThisWalk: 0,
        unvouchedLastWalk: 0,
        lastStepAt: null,
        lastStep: null,
      },
    });
    expect(severities(snapshot({ ingestion: run("failed", 1) }))["venue_errors:market_data:kalshi"]).toBe(
      "warning",
    );
    expect(severities(snapshot({ ingestion: run("failed", 3) }))["venue_errors:market_data:kalshi"]).toBe(
      "critical",
    );
    expect(
      severities(snapshot({ ingestion: run("ok", 0) }))["venue_errors:market_data:kalshi"],
    ).toBeUndefined();
    // Our own counts (a market we cannot represent) in an ok run are no API error.
    const unrepresentable = run("ok", 0);
    unrepresentable.venues.kalshi.lastRun!.errors = { market_unrepresentable: 1 };
    expect(
      severities(snapshot({ ingestion: unrepresentable }))["venue_errors:market_data:kalshi"],
    ).toBeUndefined();
    // Evidence the index audit cannot vouch for: critical while the walk under way or the last complete one met any.
    const unvouched = (thisWalk: number, lastWalk: number) => {
      const status = run("ok", 0);
      status.evidenceIndex = {
        ...status.evidenceIndex,
        unvouchedThisWalk: thisWalk,
        unvouchedLastWalk: lastWalk,
      };
      return severities(snapshot({ ingestion: status })).evidence_unvouched;
    };
    expect(unvouched(0, 0)).toBeUndefined();
    expect(unvouched(1, 0)).toBe("critical");
    expect(unvouched(0, 2)).toBe("critical");
    // Met on a page taken again (not yet counted for its walk): named by the last step, and critical too.
    const retaken = run("ok", 0);
    retaken.evidenceIndex = {
      ...retaken.evidenceIndex,
      lastStep: { checked: 2, recorded: 0, young: 0, deferred: 1, unvouched: ["x"], passCompleted: false },
    };
    expect(severities(snapshot({ ingestion: retaken })).evidence_unvouched).toBe("critical");
    // An ingestion deployed before the audit answers without the field: read as null, nothing observed for it (the
    // alert keeps its state), and the venue rules still run.
    const older: Partial<IngestionStatus> = run("failed", 3);
    delete older.evidenceIndex;
    const read = ingestionSignal(older as IngestionStatus);
    expect(read?.evidenceIndex).toBeNull();
    const evaluated = observe(snapshot({ ingestion: read }), EMPTY, DEFAULT_RULES);
    const observed = evaluated.observations;
    expect(observed.find((o) => o.key === "evidence_unvouched")).toBeUndefined();
    expect(observed.find((o) => o.key === "venue_errors:market_data:kalshi")?.severity).toBe("critical");
    // An alert raised before (by an ingestion with the audit) keeps its state through such an evaluation: not
    // observed is not "all clear" (a rollback must not clear a critical alert).
    const raised = applyObservations(
      {},
      observe(snapshot({ ingestion: retaken }), EMPTY, DEFAULT_RULES).observations,
      new Set(),
      "2026-12-03T12:00:00.000Z",
    ).active;
    expect(raised.evidence_unvouched?.severity).toBe("critical");
    const after = applyObservations(
      raised,
      observed,
      new Set(),
      "2026-12-03T12:01:00.000Z",
      evaluated.unobservable,
    );
    expect(after.active.evidence_unvouched).toEqual(raised.evidence_unvouched);
    expect(after.changes.filter((c) => c.alert.key.startsWith("evidence"))).toEqual([]);
    // With the audit reported again and clean, it clears.
    const clean = observe(snapshot({ ingestion: run("ok", 0) }), EMPTY, DEFAULT_RULES);
    expect(clean.unobservable.size).toBe(0);
    expect(
      applyObservations(raised, clean.observations, new Set(), "2026-12-03T12:02:00.000Z", clean.unobservable)
        .active.evidence_unvouched,
    ).toBeUndefined();
  });

  it("warn when the evidence index audit stops stepping: its last step too old, or none since the monitor first saw it", () => {
    const limit = DEFAULT_RULES.evidenceIndexStepMaxAgeSeconds;
    const withStep = (lastStepAt: string | null): IngestionStatus => ({
      venues: {} as IngestionStatus["venues"],
      evidenceCount: 0,
      rejectedEvidence: 0,
      rulesVersion: 1,
      evidenceIndex: {
        passesCompleted: 3,
        midPass: true,
        recordedTotal: 0,
        unvouchedTotal: 0,
        unvouchedThisWalk: 0,
        unvouchedLastWalk: 0,
        lastStepAt,
        lastStep: null,
      },
    });
    const at = Date.parse("2026-12-03T12:00:00.000Z");
    const stalled = (status: IngestionSignal, memory: RuleMemory = EMPTY, atMs = at) => {
      const r = observe(snapshot({ ingestion: status }, atMs), memory, DEFAULT_RULES);
      return { alert: r.observations.find((o) => o.key === "evidence_index_stalled"), memory: r.memory };
    };
    const ago = (seconds: number) => new Date(at - seconds * 1000).toISOString();
    // A step within the limit: observed, clear. One just past it: a warning that says when and what to read.
    expect(stalled(withStep(ago(limit))).alert?.severity).toBeNull();
    const old = stalled(withStep(ago(limit + 1))).alert;
    expect(old?.severity).toBe("warning");
    expect(old?.detail).toContain(`last step at ${ago(limit + 1)}, ${limit + 1} s ago (limit ${limit} s)`);
    expect(old?.detail).toContain("evidence index audit failed");
    // A time that cannot be read is no step: fail closed.
    expect(stalled(withStep("not a time")).alert?.severity).toBe("warning");
    // Never stepped: counted from the monitor's first sight of it (kept in its memory), warned past the limit,
    // forgotten once a step is seen.
    const first = stalled(withStep(null));
    expect(first.alert?.severity).toBeNull();
    expect(first.memory.noIndexStepSinceMs).toBe(at);
    const later = stalled(withStep(null), first.memory, at + (limit + 1) * 1000);
    expect(later.alert?.severity).toBe("warning");
    expect(later.alert?.detail).toContain(
      `no step in the ${limit + 1} s since the monitor first saw the audit`,
    );
    expect(later.memory.noIndexStepSinceMs).toBe(at);
    expect(stalled(withStep(ago(5)), later.memory).memory.noIndexStepSinceMs).toBeNull();
    // Memory stored before the rule existed has no such field: read as none seen yet.
    const stored: RuleMemory = { counters: null, noAnchorSinceMs: null };
    expect(stalled(withStep(null), stored).memory.noIndexStepSinceMs).toBe(at);
    // An ingestion without the audit observes neither evidence alert; one that did not answer keeps the memory.
    const older: Partial<IngestionStatus> = withStep(null);
    delete older.evidenceIndex;
    expect(stalled(ingestionSignal(older as IngestionStatus)!).alert).toBeUndefined();
    const down = observe(
      snapshot({ ingestion: null, unavailable: [{ source: "ingestion", reason: "timed out" }] }, at + 1),
      first.memory,
      DEFAULT_RULES,
    );
    expect(down.memory.noIndexStepSinceMs).toBe(at);
  });

  it("alert a source that did not answer, and observe nothing of its own then", () => {
    const s = severities(snapshot({ risk: null, unavailable: [{ source: "risk", reason: "timed out" }] }));
    expect(s["monitor_source:risk"]).toBe("warning");
    expect(s.breaker_state).toBeUndefined();
  });

  it("alert unhedged exposure by the oldest open obligation's age: warning from 5 min, critical from 30, clear when none", () => {
    const owed = (open: number, ageSeconds: number | null): ExecutionMonitorStats => ({
      ordersByState: {},
      venueErrors: {},
      lastReconciliation: null,
      hedgeObligations: {
        open,
        oldestFirstSeenAt: ageSeconds === null ? null : "2026-01-01T00:00:00.000Z",
        oldestAgeSeconds: ageSeconds,
        unhedgedQuantity: open * 4,
      },
    });
    const at = (stats: ExecutionMonitorStats, config = DEFAULT_RULES) =>
      observe(snapshot({ execution: stats }), EMPTY, config).observations.find(
        (o) => o.key === "unhedged_exposure",
      );
    // Open, but younger than the limit: the loop's retry may still place it. Observed, clear.
    expect(at(owed(1, 299))).toMatchObject({
      kind: "unhedged_exposure",
      source: "execution",
      severity: null,
    });
    expect(at(owed(1, 300))?.severity).toBe("warning");
    expect(at(owed(2, 1_799))).toMatchObject({
      severity: "warning",
      detail: expect.stringContaining("2 open hedge obligation(s), 8 share(s) unhedged"),
    });
    expect(at(owed(2, 1_800))?.severity).toBe("critical");
    // None open: clear, whatever an earlier evaluation saw.
    expect(at(owed(0, null))).toMatchObject({ severity: null, detail: "no open hedge obligation" });
    // The limits come from ALERT_RULES; 0 alerts on any open obligation.
    const now = parseRuleConfig('{"hedgeObligationWarningSeconds": 0}');
    expect(at(owed(1, 0), now)?.severity).toBe("warning");
    expect(at(owed(0, null), now)?.severity).toBeNull();
    // Raised, then cleared once execution answers with none open, through the alert table.
    const t = "2026-01-01T00:10:00.000Z";
    const raised = applyObservations({}, [at(owed(1, 400))!], new Set(), t);
    expect(raised.changes.map((c) => [c.alert.key, c.action, c.alert.severity])).toEqual([
      ["unhedged_exposure", "raised", "warning"],
    ]);
    const cleared = applyObservations(raised.active, [at(owed(0, null))!], new Set(), t);
    expect(cleared.changes.map((c) => [c.alert.key, c.action])).toEqual([["unhedged_exposure", "cleared"]]);
  });

  it("warn on admin request records waiting in the gateway's outbox, and go critical when any was dropped", () => {
    const reported = (
      depth: number,
      oldestAgeSeconds: number | null,
      dropped = 0,
      reportedAtMs = 1_000_000,
    ) => ({
      report: { depth, oldestAgeSeconds, dropped, lastError: depth > 0 ? "audit_unavailable: down" : null },
      reportedAtMs,
    });
    const at = (outbox: Snapshot["adminAuditOutbox"], atMs = 1_000_000) =>
      observe(snapshot({ adminAuditOutbox: outbox }, atMs), EMPTY, DEFAULT_RULES).observations.find(
        (o) => o.key === "audit_outbox_backlog",
      );
    // Never reported: nothing said.
    expect(at(null)).toBeUndefined();
    expect(at(reported(0, null))).toMatchObject({ source: "gateway", severity: null });
    // Waiting briefly is no alert; past 5 minutes it warns.
    expect(at(reported(3, 299))?.severity).toBeNull();
    expect(at(reported(3, 300))).toMatchObject({
      kind: "audit_outbox_backlog",
      severity: "warning",
      detail: expect.stringContaining(
        "3 admin request record(s) waiting for the audit chain, the oldest 300 s",
      ),
    });
    // The age grows from the report's time: a report 4 minutes old of a 2-minute-old record is 6 minutes now.
    expect(at(reported(1, 120, 0, 1_000_000), 1_000_000 + 240_000)?.severity).toBe("warning");
    // Dropped records: the gap is real.
    expect(at(reported(10_000, 30, 4))).toMatchObject({
      severity: "critical",
      detail: expect.stringMatching(/^4 record\(s\) DROPPED/),
    });
    // Raised, then cleared once the outbox reports empty.
    const t = "2026-01-01T00:10:00.000Z";
    const raised = applyObservations({}, [at(reported(1, 400))!], new Set(), t);
    expect(raised.changes.map((c) => [c.alert.key, c.action, c.alert.severity])).toEqual([
      ["audit_outbox_backlog", "raised", "warning"],
    ]);
    const cleared = applyObservations(raised.active, [at(reported(0, null))!], new Set(), t);
    expect(cleared.changes.map((c) => [c.alert.key, c.action])).toEqual([
      ["audit_outbox_backlog", "cleared"],
    ]);
  });

  it("take only well-formed overrides from ALERT_RULES", () => {
    expect(parseRuleConfig('{"anchorMaxAgeSeconds": 60, "mirrorLagMaxEntries": -1}')).toMatchObject({
      anchorMaxAgeSeconds: 60,
      mirrorLagMaxEntries: DEFAULT_RULES.mirrorLagMaxEntries,
    });
    expect(parseRuleConfig("not json")).toEqual(DEFAULT_RULES);
    // 0 only where it means something (an age limit); elsewhere it keeps the default.
    expect(parseRuleConfig('{"hedgeObligationWarningSeconds": 0, "tradingErrorsCritical": 0}')).toMatchObject(
      { hedgeObligationWarningSeconds: 0, tradingErrorsCritical: DEFAULT_RULES.tradingErrorsCritical },
    );
  });
});

describe("the money gauges", () => {
  it("carry the exposure's dollars exactly, the day's P&L subtracted in fixed point, and leave out what is not a number", () => {
    const exposure = {
      equity: "1000.3000",
      dayStartEquity: "1000.1000",
      highWaterMark: "1250.000001",
      realisedPnl: "-0.7000",
      unrealisedPnl: null,
      openPositions: 0,
      breakerState: "NORMAL" as const,
      limitsVersion: 1,
      limits: [],
      unmarkedPositions: [],
    };
    const gauge = (text: string, name: string) =>
      text
        .split("\n")
        .find((line) => line.startsWith(`${name} `))
        ?.slice(name.length + 1);
    const text = renderMetrics(snapshot({ risk: risk({ exposure }) }), []);
    expect(gauge(text, "paulp_equity_dollars")).toBe("1000.3");
    // 1000.3 - 1000.1 in floats is 0.19999999999993179; in micros it is 200000 exactly.
    expect(gauge(text, "paulp_daily_pnl_dollars")).toBe("0.2");
    expect(gauge(text, "paulp_realised_pnl_dollars")).toBe("-0.7");
    const unknown = renderMetrics(snapshot({ risk: risk({ exposure: { ...exposure, equity: "n/a" } }) }), []);
    expect(gauge(unknown, "paulp_equity_dollars")).toBeUndefined();
    expect(gauge(unknown, "paulp_daily_pnl_dollars")).toBeUndefined();
  });
});
