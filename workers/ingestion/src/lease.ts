// A venue's run lease: one run at a time holds a venue's cursor; it is claimed, renewed before every page and
// released, and a run that threw under it is still recorded as a failed run.
import type { MarketVenue, VenueRunReport } from "@paulp/contracts";
import type { PipelineDeps } from "./deps";

/** How long a run may hold a venue before another may take it over (a crashed run's lease lapses). */
export const RUN_LEASE_MS = 5 * 60_000;

/** Extend this run's lease on the venue, as a statement: it changes no row when another run holds the venue now. */
export function renewLeaseStatement(
  deps: PipelineDeps,
  venue: MarketVenue,
  leaseOwner: string,
): D1PreparedStatement {
  return deps.db
    .prepare("UPDATE ingest_state SET lease_until = ?1 WHERE venue = ?2 AND lease_owner = ?3")
    .bind(deps.now() + RUN_LEASE_MS, venue, leaseOwner);
}

/** Take the venue for this run unless another run's lease is still current. */
export async function claimLease(
  deps: PipelineDeps,
  venue: MarketVenue,
  owner: string,
  now: number,
): Promise<boolean> {
  const claim = await deps.db
    .prepare(
      `INSERT INTO ingest_state (venue, lease_owner, lease_until) VALUES (?1, ?2, ?3)
       ON CONFLICT (venue) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
       WHERE ingest_state.lease_until IS NULL OR ingest_state.lease_until <= ?4`,
    )
    .bind(venue, owner, now + RUN_LEASE_MS, now)
    .run();
  return claim.meta.changes === 1;
}

/** Give the venue back (only if this run still holds it); a failure is logged, the lease then lapses. */
export async function releaseLease(deps: PipelineDeps, venue: MarketVenue, owner: string): Promise<void> {
  await deps.db
    .prepare(
      "UPDATE ingest_state SET lease_owner = NULL, lease_until = NULL WHERE venue = ?1 AND lease_owner = ?2",
    )
    .bind(venue, owner)
    .run()
    .catch((error: unknown) =>
      console.error(`ingestion ${venue}: lease release failed: ${(error as Error).message}`),
    );
}

/**
 * A run that threw (a bug, a storage error outside a page commit) is still a failed run: recorded, counted
 * toward the breaker's report, its cursor left where the last committed page put it.
 */
export async function recordCrashedRun(
  deps: PipelineDeps,
  venue: MarketVenue,
  leaseOwner: string,
  startedMs: number,
  error: unknown,
): Promise<{ report: VenueRunReport; consecutiveFailures: number }> {
  const detail = String((error as Error)?.message ?? error).slice(0, 300);
  console.error(`ingestion ${venue}: run failed: ${detail}`);
  const errors = { exception: 1 };
  const startedAt = new Date(startedMs).toISOString();
  const finishedAt = new Date(deps.now()).toISOString();
  let consecutiveFailures = 1;
  try {
    const state = await deps.db
      .prepare("SELECT consecutive_failures FROM ingest_state WHERE venue = ?1")
      .bind(venue)
      .first<{ consecutive_failures: number }>();
    consecutiveFailures = (state?.consecutive_failures ?? 0) + 1;
    await deps.db.batch([
      deps.db
        .prepare("UPDATE ingest_state SET consecutive_failures = ?1 WHERE venue = ?2 AND lease_owner = ?3")
        .bind(consecutiveFailures, venue, leaseOwner),
      deps.db
        .prepare(
          `INSERT INTO ingest_runs (venue, started_at, finished_at, outcome, pages, fetched, stored, rejected, blocked, errors, pass_completed)
           VALUES (?1, ?2, ?3, 'failed', 0, 0, 0, 0, 0, ?4, 0)`,
        )
        .bind(venue, startedAt, finishedAt, JSON.stringify(errors)),
    ]);
  } catch (recordError) {
    console.error(`ingestion ${venue}: could not record the failed run: ${(recordError as Error)?.message}`);
  }
  const report: VenueRunReport = {
    venue,
    startedAt,
    finishedAt,
    outcome: "failed",
    pages: 0,
    fetched: 0,
    stored: 0,
    rejected: 0,
    blocked: 0,
    errors,
    passCompleted: false,
  };
  return { report, consecutiveFailures };
}
