import type { IngestionStatus, MarketVenue, VenueRunReport } from "@paulp/contracts";
import { evidenceIndexStatus } from "./evidence-index";

interface RunRow {
  venue: MarketVenue;
  started_at: string;
  finished_at: string;
  outcome: VenueRunReport["outcome"];
  pages: number;
  fetched: number;
  stored: number;
  rejected: number;
  blocked: number;
  errors: string;
  pass_completed: number;
  mode: "full" | "incremental" | null;
}

function toReport(r: RunRow): VenueRunReport {
  return {
    venue: r.venue,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    outcome: r.outcome,
    pages: r.pages,
    fetched: r.fetched,
    stored: r.stored,
    rejected: r.rejected,
    blocked: r.blocked,
    errors: JSON.parse(r.errors) as Record<string, number>,
    passCompleted: r.pass_completed === 1,
    ...(r.mode ? { mode: r.mode } : {}),
  };
}

/** Last run per venue, counts and recent errors by kind. */
export async function ingestionStatus(db: D1Database): Promise<IngestionStatus> {
  const venues: MarketVenue[] = ["kalshi", "polymarket"];
  const out = {} as IngestionStatus["venues"];
  for (const venue of venues) {
    const [state, runs, count] = await db.batch([
      db
        .prepare(
          "SELECT cursor, consecutive_failures, passes_completed, last_ok_at FROM ingest_state WHERE venue = ?1",
        )
        .bind(venue),
      db.prepare("SELECT * FROM ingest_runs WHERE venue = ?1 ORDER BY id DESC LIMIT 50").bind(venue),
      db.prepare("SELECT COUNT(*) AS n FROM markets WHERE venue = ?1").bind(venue),
    ]);
    const s = (
      state!.results as {
        cursor: string | null;
        consecutive_failures: number;
        passes_completed: number;
        last_ok_at: string | null;
      }[]
    )[0];
    const runRows = runs!.results as RunRow[];
    const errorsRecent: Record<string, number> = {};
    for (const r of runRows)
      for (const [k, n] of Object.entries(JSON.parse(r.errors) as Record<string, number>))
        errorsRecent[k] = (errorsRecent[k] ?? 0) + n;
    out[venue] = {
      lastRun: runRows[0] ? toReport(runRows[0]) : null,
      consecutiveFailures: s?.consecutive_failures ?? 0,
      lastOkAt: s?.last_ok_at ?? null,
      passesCompleted: s?.passes_completed ?? 0,
      cursor: s?.cursor ?? null,
      storedMarkets: (count!.results as { n: number }[])[0]?.n ?? 0,
      errorsRecent,
    };
  }
  const [ev, meta] = await db.batch([
    db.prepare(
      "SELECT COUNT(*) AS n, SUM(CASE WHEN parse_status = 'rejected' THEN 1 ELSE 0 END) AS r FROM evidence",
    ),
    db.prepare("SELECT version FROM compliance_meta WHERE singleton = 1"),
  ]);
  const e = (ev!.results as { n: number; r: number | null }[])[0];
  return {
    venues: out,
    evidenceCount: e?.n ?? 0,
    rejectedEvidence: e?.r ?? 0,
    rulesVersion: (meta!.results as { version: number }[])[0]?.version ?? 0,
    evidenceIndex: await evidenceIndexStatus(db),
  };
}
