// Replays (#18): start one, read one, list a strategy's; and the go-live citation check the go-live route and the
// apply step share. The rule itself is @paulp/replay's checkCitation; this file reads its inputs.
import {
  DEFAULT_REPLAY_CITATION_POLICY,
  ErrorCode,
  err,
  type GoLiveReplay,
  type JsonValue,
  ok,
  type ReplayCitationPolicy,
  ReplayId,
  ReplayStart,
  type Result,
} from "@paulp/contracts";
import { resultResponse, unwrap } from "@paulp/kit";
import { checkCitation } from "@paulp/replay";
import * as v from "valibot";
import { ask, bodyMethod, methodRoute } from "../answer";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";
import { pathParam, queryParam } from "./query";

const StrategyIdQuery = v.pipe(v.string(), v.minLength(1), v.maxLength(128));

/**
 * A positive number of `unit`s from a var, in ms, or the default (a malformed value never weakens the rule: it is
 * refused).
 */
function durationVar(text: string | undefined, unit: "hours" | "minutes", fallbackMs: number): number {
  if (text === undefined || text === "") return fallbackMs;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.warn(
      `replay citation policy: ${JSON.stringify(text)} is not a positive number of ${unit}; default kept`,
    );
    return fallbackMs;
  }
  return Math.round(n * (unit === "hours" ? 3_600_000 : 60_000));
}

/**
 * The citation policy: REPLAY_MIN_SPAN_HOURS (default 168), REPLAY_MAX_AGE_HOURS (default 72) and
 * REPLAY_MAX_GAP_MINUTES (default 15).
 */
export function citationPolicy(env: Env): ReplayCitationPolicy {
  const d = DEFAULT_REPLAY_CITATION_POLICY;
  return {
    minSpanMs: durationVar(env.REPLAY_MIN_SPAN_HOURS, "hours", d.minSpanMs),
    maxAgeMs: durationVar(env.REPLAY_MAX_AGE_HOURS, "hours", d.maxAgeMs),
    maxGapMs: durationVar(env.REPLAY_MAX_GAP_MINUTES, "minutes", d.maxGapMs),
  };
}

/**
 * Check that replay `replayId` may back strategy `strategyId`'s go-live now, and answer what the request carries:
 * the citation and the summary the approvers will see. `expectedReportHash`: at apply, the report the approvers
 * saw must still be the replay's.
 */
export async function citeReplay(
  env: Env,
  strategyId: string,
  replayId: string,
  now: number,
  expectedReportHash?: string,
): Promise<Result<GoLiveReplay>> {
  const [strategy, record] = await Promise.all([
    ask(env, "GOVERNANCE", (g) => g.getStrategy(strategyId), "governance.getStrategy"),
    ask(env, "INGESTION", (i) => i.getReplay(replayId), "ingestion.getReplay"),
  ]);
  if (!strategy.ok) return strategy;
  if (!record.ok && record.error.code !== ErrorCode.notFound) return record;
  const cited = await checkCitation(
    record.ok ? record.value : null,
    { id: strategy.value.id, params: strategy.value.params as Record<string, JsonValue> },
    citationPolicy(env),
    now,
  );
  if (!cited.ok) return cited;
  if (expectedReportHash !== undefined && cited.value.reportHash !== expectedReportHash) {
    return err(ErrorCode.replayCitationRefused, `replay ${replayId}'s report is not the one approved`, {
      reason: "replay_report_changed",
    });
  }
  const summary = record.ok ? record.value.summary : null;
  if (summary === null) return err(ErrorCode.replayCitationRefused, `replay ${replayId} has no summary`);
  return ok({ ...cited.value, summary });
}

/** Admin routes of replays (run by the ingestion worker, which holds the evidence). */
export function registerReplayRoutes(router: GatewayRouter): void {
  // Starting one is quick (its steps run in alarms): bounded, a timeout pointing at the strategy's replays.
  router.post(
    "/admin/replays",
    bodyMethod("INGESTION", "startReplay", ReplayStart, {
      wait: { check: "GET /admin/replays?strategyId=" },
      status: 202,
    }),
  );

  router.get(
    "/admin/replays",
    methodRoute("INGESTION", "listReplays", {
      args: (request) => [queryParam(request, "strategyId", StrategyIdQuery)],
      wait: "read",
    }),
  );

  // The record, and once complete the report itself with its hash (re-hashed by ingestion on read).
  router.get("/admin/replays/:id", async (request, env) => {
    const id = pathParam(request, "id", ReplayId);
    const record = unwrap(await ask(env, "INGESTION", (i) => i.getReplay(id), "ingestion.getReplay"));
    if (record.status !== "complete") return resultResponse(ok({ replay: record, report: null }));
    const report = unwrap(
      await ask(env, "INGESTION", (i) => i.getReplayReport(id), "ingestion.getReplayReport"),
    );
    return resultResponse(ok({ replay: record, report: report.report }));
  });
}
