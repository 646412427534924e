import { DEFAULT_REPLAY_CITATION_POLICY, type ReplayRecord, type ReplaySummary } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { checkCitation, paramsHash } from "../src/citation";

const DAY = 24 * 60 * 60 * 1000;
const params = { b: 1, a: "x", edge: "0.02" };
// Pinned with Python: hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":"))).hexdigest()
const PARAMS_HASH = "545ddaeee370256c4c1f41466c3fb5c4cd635d4e9f04b24de1f3853fa5d334dc";
const NOW = Date.parse("2026-12-02T12:00:00Z");

/** A complete replay's summary whose evidence runs from `from` to `to` (the figures do not matter here). */
function summary(from: string | null, to: string | null): ReplaySummary {
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

async function reason(r: ReplayRecord | null, strategyParams: Record<string, unknown> = params) {
  const answer = await checkCitation(
    r,
    { id: "st_1", params: strategyParams as never },
    DEFAULT_REPLAY_CITATION_POLICY,
    NOW,
  );
  return answer.ok ? "ok" : (answer.error.details as { reason: string }).reason;
}

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
});
