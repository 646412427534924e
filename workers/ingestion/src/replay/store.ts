// The replays index in D1 (migration 0010): what the admin API lists and the go-live citation reads. Typed SQL only;
// the run's own state is in its Durable Object.
import type { ReplayRecord, ReplayStatus, ReplaySummary } from "@paulp/contracts";
import { canMove } from "./lifecycle";

interface ReplayRow {
  id: string;
  strategy_id: string;
  params_hash: string;
  window_from: string;
  window_to: string;
  status: ReplayStatus;
  requested_at: string;
  requested_by: string;
  sightings: number;
  total_sightings: number | null;
  completed_at: string | null;
  report_hash: string | null;
  summary_json: string | null;
  failure_json: string | null;
}

function recordOf(row: ReplayRow): ReplayRecord {
  return {
    id: row.id,
    strategyId: row.strategy_id,
    paramsHash: row.params_hash,
    window: { from: row.window_from, to: row.window_to },
    status: row.status,
    requestedAt: row.requested_at,
    requestedBy: row.requested_by,
    sightings: row.sightings,
    totalSightings: row.total_sightings,
    completedAt: row.completed_at,
    reportHash: row.report_hash,
    summary: row.summary_json === null ? null : (JSON.parse(row.summary_json) as ReplaySummary),
    failure: row.failure_json === null ? null : (JSON.parse(row.failure_json) as ReplayRecord["failure"]),
  };
}

export async function insertReplay(db: D1Database, r: ReplayRecord): Promise<void> {
  await db
    .prepare(
      `INSERT INTO replays (id, strategy_id, params_hash, window_from, window_to, status, requested_at, requested_by,
         total_sightings)
       VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?7, ?8)`,
    )
    .bind(
      r.id,
      r.strategyId,
      r.paramsHash,
      r.window.from,
      r.window.to,
      r.requestedAt,
      r.requestedBy,
      r.totalSightings,
    )
    .run();
}

export async function getReplay(db: D1Database, id: string): Promise<ReplayRecord | null> {
  const row = await db.prepare("SELECT * FROM replays WHERE id = ?1").bind(id).first<ReplayRow>();
  return row ? recordOf(row) : null;
}

/** A strategy's replays, newest first. */
export async function listReplays(
  db: D1Database,
  strategyId: string,
  limit: number,
): Promise<ReplayRecord[]> {
  const { results } = await db
    .prepare("SELECT * FROM replays WHERE strategy_id = ?1 ORDER BY requested_at DESC, id DESC LIMIT ?2")
    .bind(strategyId, limit)
    .all<ReplayRow>();
  return results.map(recordOf);
}

export async function noteProgress(db: D1Database, id: string, sightings: number): Promise<void> {
  await db
    .prepare("UPDATE replays SET sightings = ?2 WHERE id = ?1 AND status = 'running'")
    .bind(id, sightings)
    .run();
}

/** Move a running replay to its end; the lifecycle table says which moves exist, the WHERE makes it happen once. */
export async function endReplay(
  db: D1Database,
  id: string,
  end:
    | { status: "complete"; at: string; sightings: number; reportHash: string; summary: ReplaySummary }
    | { status: "failed"; at: string; sightings: number; failure: { code: string; message: string } },
): Promise<boolean> {
  if (!canMove("running", end.status)) return false;
  const done = await db
    .prepare(
      `UPDATE replays SET status = ?2, completed_at = ?3, sightings = ?4, report_hash = ?5, summary_json = ?6,
         failure_json = ?7
       WHERE id = ?1 AND status = 'running'`,
    )
    .bind(
      id,
      end.status,
      end.at,
      end.sightings,
      end.status === "complete" ? end.reportHash : null,
      end.status === "complete" ? JSON.stringify(end.summary) : null,
      end.status === "failed" ? JSON.stringify(end.failure) : null,
    )
    .run();
  return done.meta.changes === 1;
}
