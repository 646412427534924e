import { DEFAULT_REPLAY_CITATION_POLICY, type ReplayRecord, type ReplaySummary } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { checkCitation, paramsHash } from "../src/citation";

const DAY = 24 * 60 * 60 * 1000;
const params = { b: 1, a: "x", edge: "0.02" };
// Pinned with Python: hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":"))).hexdigest()
const PARAMS_HASH = "545ddaeee370256c4c1f41466c3fb5c4cd635d4e9f04b24de1f3853fa5d334dc";
const NOW = Date.parse("2026-12-02T12:00:00Z");

/**
 * A complete replay's summary whose evidence runs from `from` to `to` with a largest gap of `gapSeconds` between
 * sightings (the figures do not matter here).
 */
function summary(from: string | null, to: string | null, gapSeconds: number | null = 120): ReplaySummary {
  return {
    decisions: 10,
    orders: 1,
    fills: 1,
    startingEquity: "10000.0000",
    endingEquity: "10001.0000",
    pnl: "1.0000",
    fees: "0.0100",
    maxDrawdown: "0.0000",
    maxDrawdownFraction: "0.0000",
    turnover: "4.6000",
    denialsByCode: {},
    staleDecisionShare: "0.0000",
    evidenceFrom: from,
    evidenceTo: to,
    largestEvidenceGapSeconds: gapSeconds,
  };
}

function record(over: Partial<ReplayRecord> = {}): ReplayRecord {
  return {
    id: "rp_1",
    strategyId: "st_1",
    paramsHash: PARAMS_HASH,
    window: { from: "2026-11-24T00:00:00.000Z", to: "2026-12-01T00:00:00.000Z" },
    status: "complete",
    requestedAt: "2026-12-01T01:00:00.000Z",
    requestedBy: "access:alice@example.com",
    sightings: 100,
    totalSightings: 100,
    failure: null,
    completedAt: "2026-12-01T01:05:00.000Z",
    reportHash: "a".repeat(64),
    summary: summary("2026-11-24T00:00:00.000Z", "2026-12-01T00:00:00.000Z"),
    ...over,
  };
}

async function answerFor(r: ReplayRecord | null, strategyParams: Record<string, unknown> = params) {
  return checkCitation(
    r,
    { id: "st_1", params: strategyParams as never },
    DEFAULT_REPLAY_CITATION_POLICY,
    NOW,
  );
}

async function reason(r: ReplayRecord | null, strategyParams: Record<string, unknown> = params) {
  const answer = await answerFor(r, strategyParams);
  return answer.ok ? "ok" : (answer.error.details as { reason: string }).reason;
}

const WEEK = ["2026-11-24T00:00:00.000Z", "2026-12-01T00:00:00.000Z"] as const;

describe("a go-live's replay citation", () => {
  it("names params by the hash of their canonical JSON, whatever the key order", async () => {
    expect(await paramsHash(params)).toBe(PARAMS_HASH);
    expect(await paramsHash({ edge: "0.02", a: "x", b: 1 })).toBe(PARAMS_HASH);
  });

  it("is accepted for the same strategy and params, 7 days of evidence ending within 3 days", async () => {
    const answer = await checkCitation(record(), { id: "st_1", params }, DEFAULT_REPLAY_CITATION_POLICY, NOW);
    expect(answer).toEqual({
      ok: true,
      value: {
        replayId: "rp_1",
        reportHash: "a".repeat(64),
        paramsHash: PARAMS_HASH,
        window: record().window,
      },
    });
  });

  it("is refused, naming the rule, when any rule fails", async () => {
    expect(await reason(null)).toBe("replay_missing");
    expect(await reason(record({ status: "running", reportHash: null }))).toBe("replay_not_complete");
    expect(await reason(record({ status: "failed" }))).toBe("replay_not_complete");
    expect(await reason(record({ strategyId: "st_2" }))).toBe("replay_other_strategy");
    expect(await reason(record(), { ...params, edge: "0.03" })).toBe("replay_params_changed");
    // One millisecond short of 7 days of evidence.
    const short = summary("2026-11-24T00:00:00.001Z", "2026-12-01T00:00:00.000Z");
    expect(await reason(record({ summary: short }))).toBe("replay_too_short");
    // The span is the evidence's, not the window's: a 7-day window with one day of evidence in it is one day.
    const oneDay = summary("2026-11-30T00:00:00.000Z", "2026-12-01T00:00:00.000Z");
    expect(await reason(record({ summary: oneDay }))).toBe("replay_too_short");
    // No evidence at all, a report of an engine that did not state the span, or no summary.
    expect(await reason(record({ summary: summary(null, null) }))).toBe("replay_too_short");
    const {
      evidenceFrom: _f,
      evidenceTo: _t,
      largestEvidenceGapSeconds: _g,
      ...older
    } = summary("2026-11-24T00:00:00.000Z", "2026-12-01T00:00:00.000Z");
    expect(await reason(record({ summary: older }))).toBe("replay_too_short");
    expect(await reason(record({ summary: null }))).toBe("replay_too_short");
    // Evidence ending 3 days and 1 ms before now.
    const to = new Date(NOW - 3 * DAY - 1).toISOString();
    const from = new Date(NOW - 10 * DAY - 1).toISOString();
    expect(await reason(record({ summary: summary(from, to) }))).toBe("replay_too_old");
    // Exactly at the limits is allowed.
    const edgeTo = new Date(NOW - 3 * DAY).toISOString();
    const edgeFrom = new Date(NOW - 10 * DAY).toISOString();
    expect(await reason(record({ summary: summary(edgeFrom, edgeTo) }))).toBe("ok");
  });

  it("is refused when a gap between consecutive sightings is longer than the policy's 15 minutes", async () => {
    const gap = (seconds: number | null) => record({ summary: summary(WEEK[0], WEEK[1], seconds) });
    expect(DEFAULT_REPLAY_CITATION_POLICY.maxGapMs).toBe(15 * 60_000);
    expect(await reason(gap(0))).toBe("ok");
    expect(await reason(gap(14 * 60 + 59))).toBe("ok");
    // At the limit is allowed; a second over is not.
    expect(await reason(gap(15 * 60))).toBe("ok");
    expect(await reason(gap(15 * 60 + 1))).toBe("replay_evidence_gap");
    // The crawl stopped for a day inside a week of evidence: the week's span does not cover it.
    const day = await answerFor(gap(24 * 60 * 60));
    expect(day).toEqual({
      ok: false,
      error: {
        code: "replay_citation_refused",
        message:
          "replay rp_1's evidence has a gap of 24.0 hours between consecutive sightings; at most 15.0 minutes is allowed (the evidence does not cover the span)",
        details: { reason: "replay_evidence_gap", gapMs: 86_400_000, maxGapMs: 900_000 },
      },
    });
  });

  it("refuses a report of an engine before replay-engine.4, which does not state its largest gap", async () => {
    const { largestEvidenceGapSeconds: _g, ...engine3 } = summary(WEEK[0], WEEK[1]);
    const answer = await answerFor(record({ summary: engine3 }));
    expect(answer.ok ? null : answer.error).toMatchObject({
      details: { reason: "replay_evidence_gap" },
      message: expect.stringContaining("an engine before replay-engine.4): replay it again"),
    });
    // Nor is a gap the report could not know (null) taken as none.
    expect(await reason(record({ summary: summary(WEEK[0], WEEK[1], null) }))).toBe("replay_evidence_gap");
  });
});
