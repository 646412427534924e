// The fetch log (#18): every fetch of a venue answer, in fetch order, so a replay sees A, B, A, B, A where the
// content-addressed evidence holds A and B once. Appended with the evidence's record (evidence.ts), read a window at
// a time by `listFetches`, pruned after each complete pass past a retention no shorter than a citable replay.
import {
  DEFAULT_REPLAY_CITATION_POLICY,
  type EvidenceFetch,
  MAX_REPLAY_SPAN_MS,
  type Venue,
} from "@paulp/contracts";

const DAY_MS = 86_400_000;
/**
 * The shortest retention accepted, in days: the longest replay a go-live may cite must still be readable, to be run
 * again by anyone. A replay covers at most MAX_REPLAY_SPAN_MS (31 days) and a go-live cites one whose window ended
 * at most the citation policy's `maxAgeMs` ago (3 days): its first fetch may be 34 days old.
 */
export const MIN_FETCH_LOG_RETENTION_DAYS = Math.ceil(
  (MAX_REPLAY_SPAN_MS + DEFAULT_REPLAY_CITATION_POLICY.maxAgeMs) / DAY_MS,
);
/** Default retention of the fetch log, in days: the shortest that holds every citable replay. */
export const DEFAULT_FETCH_LOG_RETENTION_DAYS = MIN_FETCH_LOG_RETENTION_DAYS;
/** Rows the prune deletes after one pass at most (a bounded statement; the rest go after the next pass). */
export const FETCH_LOG_PRUNE_LIMIT = 50_000;

/**
 * The retention in force, from FETCH_LOG_RETENTION_DAYS (days; unset: the default). A value that is not a number
 * or is shorter than the minimum is not used (the log is never cut shorter than a citable replay): the default
 * applies, and the caller is told why.
 */
export function fetchLogRetention(configured: string | undefined): { ms: number; refused: string | null } {
  const fallback = { ms: DEFAULT_FETCH_LOG_RETENTION_DAYS * DAY_MS, refused: null };
  if (configured === undefined || configured.trim() === "") return fallback;
  const days = Number(configured);
  if (!Number.isFinite(days) || days < MIN_FETCH_LOG_RETENTION_DAYS)
    return {
      ...fallback,
      refused: `FETCH_LOG_RETENTION_DAYS=${configured.slice(0, 32)} is not a number of days >= ${MIN_FETCH_LOG_RETENTION_DAYS}; keeping ${DEFAULT_FETCH_LOG_RETENTION_DAYS}`,
    };
  return { ms: days * DAY_MS, refused: null };
}

/** The statement appending one fetch (run in the batch that records its evidence row, after it). */
export function fetchLogStatement(
  db: D1Database,
  f: { hash: string; venue: string; url: string; status: number; fetchedAt: string },
): D1PreparedStatement {
  return db
    .prepare(
      "INSERT INTO evidence_fetches (hash, venue, url, status, fetched_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(f.hash, f.venue, f.url, f.status, f.fetchedAt);
}

/** The statement dropping fetches made before `before` (oldest first, at most FETCH_LOG_PRUNE_LIMIT). */
export function pruneFetchLogStatement(db: D1Database, before: string): D1PreparedStatement {
  return db
    .prepare(
      `DELETE FROM evidence_fetches WHERE id IN (
         SELECT id FROM evidence_fetches WHERE fetched_at < ?1 ORDER BY fetched_at, id LIMIT ?2)`,
    )
    .bind(before, FETCH_LOG_PRUNE_LIMIT);
}

/** How many fetches [from, to) holds (a replay's total, for its progress). */
export async function countFetches(db: D1Database, window: { from: string; to: string }): Promise<number> {
  const row = await db
    .prepare("SELECT COUNT(*) AS n FROM evidence_fetches WHERE fetched_at >= ?1 AND fetched_at < ?2")
    .bind(window.from, window.to)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Where a page of the log ended: its last fetch's (fetched at, id). */
export interface FetchLogKey {
  fetchedAt: string;
  id: number;
}

/**
 * The fetches of [from, to) in fetch order ((fetched_at, id): the time of the fetch, ties in the order recorded),
 * after `after`, at most `limit`; with the distinct evidence hashes they name (first fetch first) and the key to
 * continue from (null after the last). `from` and `to` are ISO timestamps as ingestion writes them (UTC, ms).
 */
export async function listFetches(
  db: D1Database,
  q: { from: string; to: string; limit: number; after?: FetchLogKey | undefined },
): Promise<{ fetches: EvidenceFetch[]; hashes: string[]; next: FetchLogKey | null }> {
  const after = q.after ?? { fetchedAt: q.from, id: -1 };
  const rows = await db
    .prepare(
      `SELECT id, hash, venue, url, status, fetched_at FROM evidence_fetches
       WHERE fetched_at >= ?1 AND fetched_at < ?2 AND (fetched_at, id) > (?3, ?4)
       ORDER BY fetched_at, id LIMIT ?5`,
    )
    .bind(q.from, q.to, after.fetchedAt, after.id, q.limit + 1)
    .all<{ id: number; hash: string; venue: string; url: string; status: number; fetched_at: string }>();
  const page = rows.results.slice(0, q.limit);
  const fetches = page.map((r) => ({
    hash: r.hash,
    // Written by ingestion only, with its own venue names.
    venue: r.venue as Venue,
    url: r.url,
    status: r.status,
    fetchedAt: r.fetched_at,
  }));
  const last = page.at(-1);
  return {
    fetches,
    hashes: [...new Set(fetches.map((f) => f.hash))],
    next: rows.results.length > q.limit && last ? { fetchedAt: last.fetched_at, id: last.id } : null,
  };
}
