// A venue run's record: where the venue's pass stands in `ingest_state` (read as a run starts, saved under the run's
// lease as it ends) and the run's row in `ingest_runs`.
import type { MarketVenue, VenueRunReport } from "@paulp/contracts";
import type { PipelineDeps, Tally } from "./deps";

/** A venue's `ingest_state` row as a run reads it. */
export interface StateRow {
  cursor: string | null;
  consecutive_failures: number;
  passes_completed: number;
  pass_started_at: string | null;
  metadata_since: number | null;
}

/** Where the venue's pass stands (null before the venue's first run). */
export function readRunState(deps: PipelineDeps, venue: MarketVenue): Promise<StateRow | null> {
  return deps.db
    .prepare(
      "SELECT cursor, consecutive_failures, passes_completed, pass_started_at, metadata_since FROM ingest_state WHERE venue = ?1",
    )
    .bind(venue)
    .first<StateRow>();
}

/** What a run leaves in `ingest_state` for the next one. */
export interface RunLeaves {
  cursor: string | null;
  passesCompleted: number;
  consecutiveFailures: number;
  metadataSince: number | null;
}

/**
 * Save where the run leaves the venue, then record the run in `ingest_runs` as its report finally reads. The cursor
 * is saved only while this run still holds the lease; if it does not, the run says so (`lease_lost`: not `ok`, no
 * pass completed). An incremental run leaves the full pass's cursor and start alone.
 */
export async function saveRun(
  deps: PipelineDeps,
  leaseOwner: string,
  report: VenueRunReport,
  leaves: RunLeaves,
  tally: Tally,
): Promise<void> {
  const { venue, startedAt, finishedAt } = report;
  const saved = await deps.db
    .prepare(
      `INSERT INTO ingest_state (venue, cursor, pass_started_at, passes_completed, consecutive_failures, last_ok_at, metadata_since)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?8)
       ON CONFLICT (venue) DO UPDATE SET cursor = excluded.cursor, passes_completed = excluded.passes_completed,
         consecutive_failures = excluded.consecutive_failures,
         last_ok_at = COALESCE(excluded.last_ok_at, ingest_state.last_ok_at),
         metadata_since = excluded.metadata_since,
         pass_started_at = CASE WHEN ingest_state.cursor IS NULL AND ?9 = 0 THEN excluded.pass_started_at ELSE ingest_state.pass_started_at END
       WHERE ingest_state.lease_owner = ?7`,
    )
    .bind(
      venue,
      leaves.cursor,
      startedAt,
      leaves.passesCompleted,
      leaves.consecutiveFailures,
      report.outcome === "failed" ? null : finishedAt,
      leaseOwner,
      leaves.metadataSince,
      report.mode === "incremental" ? 1 : 0,
    )
    .run();
  if (saved.meta.changes !== 1 && report.errors.lease_lost === undefined) {
    tally.add("lease_lost");
    report.errors = tally.errors;
    if (report.outcome === "ok") report.outcome = "partial";
    report.passCompleted = false;
  }
  await deps.db
    .prepare(
      `INSERT INTO ingest_runs (venue, started_at, finished_at, outcome, pages, fetched, stored, rejected, blocked, errors, pass_completed, mode)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)`,
    )
    .bind(
      venue,
      startedAt,
      finishedAt,
      report.outcome,
      report.pages,
      report.fetched,
      report.stored,
      report.rejected,
      report.blocked,
      JSON.stringify(report.errors),
      report.passCompleted ? 1 : 0,
      report.mode ?? null,
    )
    .run();
}
