// One bounded step of a replay run, as plain code over its ports (the fetch log, the evidence bytes, the engine, the
// report store, the audit chain, the index), so the Durable Object is only storage and alarms around it.
// A step replays at most one page of sightings. The last step stores the report, audits its hash and only then
// marks the run complete: an unaudited report is never citable (fail closed).
import type { EvidenceSighting, ReplayReport, ReplaySummary } from "@paulp/contracts";
import { canonicalReport, reportHash, type VerifiedSighting, verifiedTimeline } from "@paulp/replay";

/** The engine, over its own JSON state (pure: time only from the sightings). */
export interface EnginePort<S> {
  step(state: S, sightings: VerifiedSighting[]): S;
  finish(state: S): ReplayReport;
}

export interface StepPorts<S> {
  /** The fetch log of the window in fetch order, after `cursor`. */
  page(
    cursor: string | null,
    limit: number,
  ): Promise<{ sightings: EvidenceSighting[]; cursor: string | null }>;
  /** An evidence object's stored bytes (re-hashed by the step before use), or null when absent. */
  bytes(hash: string): Promise<Uint8Array | null>;
  engine: EnginePort<S>;
  /** Store the report's canonical bytes under its id (create-only: a stored report never changes). */
  putReport(canonical: string, hash: string): Promise<void>;
  /** Append `ingestion.replay_completed`; false when the chain did not acknowledge it. */
  auditCompleted(reportHash: string, summary: ReplaySummary, sightings: number): Promise<boolean>;
  noteProgress(sightings: number): Promise<void>;
  complete(reportHash: string, summary: ReplaySummary, sightings: number): Promise<void>;
}

/** What a run carries between steps (JSON). `report`: set once the engine finished, until it is audited. */
export interface RunProgress<S> {
  window: { fromMs: number; toMs: number };
  cursor: string | null;
  /** True once the fetch log has no page after `cursor`. */
  drained: boolean;
  sightings: number;
  /** Steps taken so far (each reads at most one page). */
  steps: number;
  state: S;
  finished: { hash: string; summary: ReplaySummary } | null;
}

export type StepOutcome<S> =
  | { kind: "continue"; progress: RunProgress<S> }
  | { kind: "complete"; progress: RunProgress<S> }
  | { kind: "refused"; code: string; message: string }
  /** The chain did not acknowledge the completion: the report is stored, try the audit again later. */
  | { kind: "audit_pending"; progress: RunProgress<S> };

export const PAGE_SIGHTINGS = 200;

export async function replayStep<S>(
  ports: StepPorts<S>,
  run: RunProgress<S>,
  pageSightings = PAGE_SIGHTINGS,
): Promise<StepOutcome<S>> {
  if (!run.drained) {
    const page = await ports.page(run.cursor, pageSightings);
    // The page's objects read at once, each once (a page names few distinct objects many times).
    const hashes = [...new Set(page.sightings.map((s) => s.hash))];
    const read = await Promise.all(hashes.map((hash) => ports.bytes(hash)));
    const objects = new Map<string, Uint8Array>();
    read.forEach((bytes, i) => {
      if (bytes) objects.set(hashes[i] as string, bytes);
    });
    // Re-hash every object and check every sighting against the window; a refusal names the object.
    const timeline = await verifiedTimeline({ objects, sightings: page.sightings }, run.window);
    if (!timeline.ok)
      return { kind: "refused", code: timeline.refusal.code, message: timeline.refusal.message };
    const state = ports.engine.step(run.state, timeline.sightings);
    const next: RunProgress<S> = {
      ...run,
      cursor: page.cursor,
      drained: page.cursor === null,
      sightings: run.sightings + page.sightings.length,
      steps: run.steps + 1,
      state,
    };
    if (!next.drained) {
      await ports.noteProgress(next.sightings);
      return { kind: "continue", progress: next };
    }
    run = next;
  }
  let finished = run.finished;
  if (finished === null) {
    const report = ports.engine.finish(run.state);
    const hash = await reportHash(report);
    await ports.putReport(canonicalReport(report), hash);
    finished = { hash, summary: report.summary };
  }
  const progress: RunProgress<S> = { ...run, finished };
  if (!(await ports.auditCompleted(finished.hash, finished.summary, run.sightings))) {
    return { kind: "audit_pending", progress };
  }
  await ports.complete(finished.hash, finished.summary, run.sightings);
  return { kind: "complete", progress };
}
