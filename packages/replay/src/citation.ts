// A go-live cites a replay (#18): the same strategy and params, enough evidence, recent enough. Pure: the caller
// reads the record and passes the time, so the request and the apply step run the same check.
import {
  ErrorCode,
  err,
  type JsonValue,
  ok,
  type ReplayCitation,
  type ReplayCitationPolicy,
  ReplayCitationRefusal,
  type ReplayRecord,
  type Result,
} from "@paulp/contracts";
import { canonicalJson, sha256Hex } from "@paulp/kit";

/** The params' identity: lowercase hex SHA-256 of their RFC 8785 canonical JSON (key order does not matter). */
export function paramsHash(params: Record<string, JsonValue>): Promise<string> {
  return sha256Hex(canonicalJson(params));
}

function refuse(reason: ReplayCitationRefusal, message: string, details: Record<string, unknown> = {}) {
  return err<ReplayCitation>(ErrorCode.replayCitationRefused, message, { reason, ...details });
}

/**
 * Check that `record` (null when no replay has the cited id) may back a go-live of `strategy` at `nowMs`: complete,
 * of this strategy, with exactly these params, whose evidence (its first to its last sighting, as the report's
 * summary states them) spans at least `policy.minSpanMs`, ends no more than `policy.maxAgeMs` before now and has
 * no gap between consecutive sightings longer than `policy.maxGapMs` (a span the crawl left empty for a day does
 * not cover that day). Answers the citation the request carries.
 */
export async function checkCitation(
  record: ReplayRecord | null,
  strategy: { id: string; params: Record<string, JsonValue> },
  policy: ReplayCitationPolicy,
  nowMs: number,
): Promise<Result<ReplayCitation>> {
  if (record === null) return refuse(ReplayCitationRefusal.missing, "no replay has that id");
  if (record.status !== "complete" || record.reportHash === null) {
    return refuse(ReplayCitationRefusal.notComplete, `replay ${record.id} is ${record.status}, not complete`);
  }
  if (record.strategyId !== strategy.id) {
    return refuse(
      ReplayCitationRefusal.otherStrategy,
      `replay ${record.id} is of strategy ${record.strategyId}, not ${strategy.id}`,
    );
  }
  const current = await paramsHash(strategy.params);
  if (record.paramsHash !== current) {
    return refuse(
      ReplayCitationRefusal.paramsChanged,
      `replay ${record.id} ran other params than the strategy has now: replay it again`,
      { replayParamsHash: record.paramsHash, strategyParamsHash: current },
    );
  }
  // The span is the evidence's, not the window's: a week-long window with an hour of evidence in it is an hour.
  const evidence = record.summary;
  const from = evidence?.evidenceFrom ? Date.parse(evidence.evidenceFrom) : Number.NaN;
  const to = evidence?.evidenceTo ? Date.parse(evidence.evidenceTo) : Number.NaN;
  if (!Number.isFinite(from) || !Number.isFinite(to) || to - from < policy.minSpanMs) {
    const covered = Number.isFinite(to - from) ? `${spanText(to - from)} of evidence` : "no evidence";
    return refuse(
      ReplayCitationRefusal.tooShort,
      `replay ${record.id} covers ${covered} (first to last sighting); at least ${spanText(policy.minSpanMs)} is required`,
      { spanMs: Number.isFinite(to - from) ? to - from : 0, minSpanMs: policy.minSpanMs },
    );
  }
  if (nowMs - to > policy.maxAgeMs) {
    return refuse(
      ReplayCitationRefusal.tooOld,
      `replay ${record.id}'s evidence ends ${spanText(nowMs - to)} ago; at most ${spanText(policy.maxAgeMs)} is allowed`,
      { ageMs: nowMs - to, maxAgeMs: policy.maxAgeMs },
    );
  }
  // Coverage inside the span: a report that does not state its largest gap (an engine before replay-engine.4) is not
  // taken as gapless.
  const gapSeconds = evidence?.largestEvidenceGapSeconds;
  if (gapSeconds === undefined || gapSeconds === null) {
    return refuse(
      ReplayCitationRefusal.evidenceGap,
      `replay ${record.id}'s report does not state the largest gap in its evidence (an engine before replay-engine.4): replay it again`,
      { maxGapMs: policy.maxGapMs },
    );
  }
  if (gapSeconds * 1000 > policy.maxGapMs) {
    return refuse(
      ReplayCitationRefusal.evidenceGap,
      `replay ${record.id}'s evidence has a gap of ${gapText(gapSeconds * 1000)} between consecutive sightings; at most ${gapText(policy.maxGapMs)} is allowed (the evidence does not cover the span)`,
      { gapMs: gapSeconds * 1000, maxGapMs: policy.maxGapMs },
    );
  }
  return ok({
    replayId: record.id,
    reportHash: record.reportHash,
    paramsHash: current,
    window: record.window,
  });
}

function spanText(ms: number): string {
  if (!Number.isFinite(ms)) return "no valid span";
  const hours = ms / 3_600_000;
  return hours >= 48 ? `${(hours / 24).toFixed(1)} days` : `${hours.toFixed(1)} hours`;
}

function gapText(ms: number): string {
  return ms >= 7_200_000 ? spanText(ms) : `${(ms / 60_000).toFixed(1)} minutes`;
}
