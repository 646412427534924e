// ReplayRun: one Durable Object per replay, a thin shell over replayStep (step.ts). It keeps the run's progress
// (the engine's JSON state and the fetch-log cursor) between alarms, so a replay of any length runs in bounded steps;
// it ends the run in the index (D1) and in the audit chain. The clock is read here only, to schedule alarms.
import { DurableObject } from "cloudflare:workers";
import type { ReplayRecord, ReplaySummary } from "@paulp/contracts";
import { auditAppend } from "@paulp/kit";
import type { ReplayState } from "@paulp/replay";
import type { Env } from "../env";
import { type FetchLogKey, listFetches } from "../fetch-log";
import { replayEngine } from "./engine-adapter";
import { loadProgress, progressHead, saveProgress } from "./progress-store";
import { type EnginePort, PAGE_SIGHTINGS, type RunProgress, replayStep, type StepPorts } from "./step";
import { endReplay, noteProgress } from "./store";

/** What a run was started with: the index record and the engine's first state. */
export interface RunStart<S> {
  record: ReplayRecord;
  progress: RunProgress<S>;
}

/** Retries of a step that threw (storage or a binding down), with a growing wait, before the run fails. */
const MAX_ATTEMPTS = 8;
/** From one step to the next. */
const NEXT_STEP_MS = 20;
const backoffMs = (attempt: number) => Math.min(300_000, 1_000 * 2 ** attempt);

function stepSightings(text: string | undefined): number {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 1_000 ? n : PAGE_SIGHTINGS;
}

export class ReplayRun extends DurableObject<Env> {
  /** Start the run (once: a second call answers the record it was started with). */
  async begin<S>(start: RunStart<S>): Promise<ReplayRecord> {
    const existing = await this.ctx.storage.get<ReplayRecord>("record");
    if (existing) return existing;
    await saveProgress(this.ctx.storage, start.progress as RunProgress<unknown>);
    await this.ctx.storage.put({ record: start.record, attempts: 0 });
    await this.ctx.storage.setAlarm(Date.now());
    return start.record;
  }

  /** How far the run is: steps taken and sightings replayed (null before it began). */
  async progress(): Promise<{ steps: number; sightings: number } | null> {
    return progressHead(this.ctx.storage);
  }

  override async alarm(): Promise<void> {
    const record = await this.ctx.storage.get<ReplayRecord>("record");
    if (record?.status !== "running") return;
    const attempts = (await this.ctx.storage.get<number>("attempts")) ?? 0;
    let sightings = (await progressHead(this.ctx.storage))?.sightings ?? 0;
    try {
      const progress = await loadProgress(this.ctx.storage);
      if (!progress) return;
      sightings = progress.sightings;
      const outcome = await replayStep(
        this.ports(record, replayEngine),
        progress as RunProgress<ReplayState>,
        stepSightings(this.env.REPLAY_STEP_SIGHTINGS),
      );
      switch (outcome.kind) {
        case "continue":
          await saveProgress(this.ctx.storage, outcome.progress);
          await this.ctx.storage.put("attempts", 0);
          // The next step a moment later: an alarm set from its own handler for the same instant (the clock does
          // not move inside a handler) can be taken as the one just run and dropped.
          await this.ctx.storage.setAlarm(Date.now() + NEXT_STEP_MS);
          return;
        case "audit_pending":
          await saveProgress(this.ctx.storage, outcome.progress);
          throw new Error("the audit chain did not acknowledge the report's hash");
        case "complete":
          await saveProgress(this.ctx.storage, outcome.progress);
          await this.ctx.storage.put("record", { ...record, status: "complete" });
          return;
        case "refused":
          await this.fail(record, progress.sightings, outcome.code, outcome.message);
          return;
      }
    } catch (error) {
      // Storage, a binding or the chain down: try again later, and give up (failed, audited) after MAX_ATTEMPTS.
      const message = error instanceof Error ? error.message : String(error);
      if (attempts + 1 >= MAX_ATTEMPTS) {
        await this.fail(
          record,
          sightings,
          "replay_stalled",
          `stopped after ${MAX_ATTEMPTS} attempts: ${message}`,
        );
        return;
      }
      console.warn(`replay ${record.id}: step failed (attempt ${attempts + 1}): ${message}`);
      await this.ctx.storage.put("attempts", attempts + 1);
      await this.ctx.storage.setAlarm(Date.now() + backoffMs(attempts));
    }
  }

  private async fail(record: ReplayRecord, sightings: number, code: string, message: string): Promise<void> {
    const at = new Date().toISOString();
    const audited = await auditAppend(this.env.AUDIT, {
      type: "ingestion.replay_failed",
      service: "ingestion",
      actor: { method: "system", subject: "ingestion:replay" },
      payload: { replayId: record.id, strategyId: record.strategyId, code, message },
    });
    if (!audited.ok) console.warn(`replay ${record.id}: failure not audited: ${audited.error.message}`);
    await endReplay(this.env.D1_MARKETS, record.id, {
      status: "failed",
      at,
      sightings,
      failure: { code, message },
    });
    await this.ctx.storage.put("record", { ...record, status: "failed" });
  }

  private ports<S>(record: ReplayRecord, engine: EnginePort<S>): StepPorts<S> {
    const env = this.env;
    return {
      page: async (cursor, limit) => {
        // The log's window is [from, to) in ingestion's own timestamps (UTC ISO, ms); the cursor is its key.
        const page = await listFetches(env.D1_MARKETS, {
          from: record.window.from,
          to: record.window.to,
          limit,
          after: cursor === null ? undefined : (JSON.parse(cursor) as FetchLogKey),
        });
        return { sightings: page.fetches, cursor: page.next === null ? null : JSON.stringify(page.next) };
      },
      bytes: async (hash) => {
        const object = await env.R2_EVIDENCE.get(hash);
        return object ? new Uint8Array(await object.arrayBuffer()) : null;
      },
      engine,
      putReport: async (canonical, hash) => {
        // Create-only: a report, once stored, never changes (a retried step finds it there with the same bytes).
        await env.R2_REPLAYS.put(`reports/${record.id}.json`, canonical, {
          onlyIf: { etagDoesNotMatch: "*" },
          httpMetadata: { contentType: "application/json" },
          customMetadata: { reportHash: hash },
        });
      },
      auditCompleted: async (reportHash: string, summary: ReplaySummary, sightings: number) => {
        const appended = await auditAppend(env.AUDIT, {
          type: "ingestion.replay_completed",
          service: "ingestion",
          actor: { method: "system", subject: "ingestion:replay" },
          payload: {
            replayId: record.id,
            strategyId: record.strategyId,
            paramsHash: record.paramsHash,
            window: record.window,
            reportHash,
            sightings,
            pnl: summary.pnl,
          },
        });
        return appended.ok;
      },
      noteProgress: (sightings) => noteProgress(env.D1_MARKETS, record.id, sightings),
      complete: async (reportHash, summary, sightings) => {
        await endReplay(env.D1_MARKETS, record.id, {
          status: "complete",
          at: new Date().toISOString(),
          sightings,
          reportHash,
          summary,
        });
      },
    };
  }
}
