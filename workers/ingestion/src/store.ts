// The ingestion writes to D1: changed rows and their marks, snapshot sightings, blocks, deletions and books, each a
// prepared statement run in batches (under the rules-version guard); the reads are in market-queries.ts.
import type { MarketVenue, OrderBookSnapshot } from "@paulp/contracts";
import type { StoredMarketRow } from "@paulp/venue-decode";
import { contentValues } from "./row-content";

/** D1 allows a bounded number of statements per batch; write in chunks. */
const BATCH = 200;

/** Rows per upsert statement: one JSON parameter per chunk keeps each statement well under D1's 2 MB value limit. */
const ROWS_PER_STATEMENT = 200;

const MARKET_COLUMNS = [
  "venue",
  "market_id",
  "event_id",
  "series_id",
  "title",
  "category",
  "status",
  "close_time",
  "rules",
  "resolution_source",
  "yes_bid",
  "yes_ask",
  "last_price",
  "outcome_tokens",
  "evidence_hash",
  "fetched_at",
  "content_key",
  "mark_price",
  "mark_evidence_hash",
  "mark_observed_at",
] as const;

/** The mark columns, written together: only from a row that has a mark (a row without one keeps its last). */
const MARK_COLUMNS = new Set<string>(["mark_price", "mark_evidence_hash", "mark_observed_at"]);

/** What is stored of a market a page lists: its content key and when its mark was last observed (sent to risk). */
export interface StoredState {
  contentKey: string | null;
  status: string;
  markObservedAt: string | null;
}

/** The statement reading the stored state of these markets (storedStatesFrom reads its answer). */
export function storedStatesStatement(
  db: D1Database,
  venue: MarketVenue,
  ids: string[],
): D1PreparedStatement {
  return db
    .prepare(
      `SELECT market_id, content_key, status, mark_observed_at FROM markets
       WHERE venue = ?1 AND market_id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(venue, JSON.stringify(ids));
}

/** The stored states a `storedStatesStatement` answered (markets not stored are absent from the map). */
export function storedStatesFrom(result: D1Result): Map<string, StoredState> {
  const out = new Map<string, StoredState>();
  for (const r of result.results as {
    market_id: string;
    content_key: string | null;
    status: string;
    mark_observed_at: string | null;
  }[])
    out.set(r.market_id, {
      contentKey: r.content_key,
      status: r.status,
      markObservedAt: r.mark_observed_at,
    });
  return out;
}

/** The stored state of these markets, in one read (markets not stored are absent from the map). */
export async function storedStates(
  db: D1Database,
  venue: MarketVenue,
  ids: string[],
): Promise<Map<string, StoredState>> {
  if (ids.length === 0) return new Map();
  return storedStatesFrom(await storedStatesStatement(db, venue, ids).all());
}

// Checked by every insert, inside the write: rules replaced since the gate ran make it write nothing.
const RULES_CURRENT = "(SELECT COALESCE((SELECT version FROM compliance_meta WHERE singleton = 1), 0)) = ?2";

type MarketColumn = (typeof MARKET_COLUMNS)[number];

/** The columns every row of a page shares in an upsert: bound once per statement (?3, ?4, ?5 below). */
const PAGE_COLUMNS = new Set<MarketColumn>([
  "venue",
  "evidence_hash",
  "fetched_at",
  "mark_evidence_hash",
  "mark_observed_at",
]);

/** The columns a row carries in an upsert's JSON, by position (MARKET_COLUMNS' order, the page's left out). */
const ROW_COLUMNS = MARKET_COLUMNS.filter((c) => !PAGE_COLUMNS.has(c));

const fromRow = (c: MarketColumn) => `value ->> '$[${ROW_COLUMNS.indexOf(c)}]'`;

/** Each column's value in the upsert: the row's (JSON) or the page's (?3 venue, ?4 evidence hash, ?5 fetch time). */
const UPSERT_VALUES: Record<MarketColumn, string> = {
  ...(Object.fromEntries(ROW_COLUMNS.map((c) => [c, fromRow(c)])) as Record<MarketColumn, string>),
  venue: "?3",
  evidence_hash: "?4",
  fetched_at: "?5",
  // A mark is observed in the row's snapshot; a row without one carries none (and keeps its last, below).
  mark_evidence_hash: `CASE WHEN ${fromRow("mark_price")} IS NULL THEN NULL ELSE ?4 END`,
  mark_observed_at: `CASE WHEN ${fromRow("mark_price")} IS NULL THEN NULL ELSE ?5 END`,
};

/**
 * Statements that upsert market rows (those whose content changed, all of one page), each with its content key and,
 * when it has a mark due (`marks`), that mark (observed in the page's snapshot). Rows travel as one JSON array per
 * statement, expanded by SQLite's json_each: D1 binds at most 100 parameters per statement, and one statement per
 * row is slow. What every row of the page shares (venue, evidence, time: planWrites gives each row the page's
 * snapshot) is bound once, not carried by each row: ~180 bytes a row fewer through D1's serialisation.
 */
export function upsertMarketStatements(
  db: D1Database,
  page: { venue: MarketVenue; evidenceHash: string; fetchedAt: string },
  rows: StoredMarketRow[],
  keys: Map<string, string>,
  marks: Map<string, string>,
  /** The compliance rules version the rows were gated under: a row is written only while it is current. */
  rulesVersion: number,
): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  const cols = MARKET_COLUMNS.join(", ");
  const select = MARKET_COLUMNS.map((c) => UPSERT_VALUES[c]).join(", ");
  // A row written again is seen now: a sighting folded into it earlier no longer says the last one.
  const updates = [
    ...MARKET_COLUMNS.slice(2).map((c) =>
      MARK_COLUMNS.has(c)
        ? `${c} = CASE WHEN excluded.mark_price IS NULL THEN markets.${c} ELSE excluded.${c} END`
        : `${c} = excluded.${c}`,
    ),
    "last_seen_at = NULL",
    "last_seen_evidence = NULL",
  ].join(", ");
  const marketSql = `INSERT INTO markets (${cols}) SELECT ${select} FROM json_each(?1) WHERE ${RULES_CURRENT}
     ON CONFLICT (venue, market_id) DO UPDATE SET ${updates}`;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    const marketRows = chunk.map((r) => {
      const content = contentValues(r).slice(1); // the venue is the page's
      return [...content, keys.get(r.marketId) ?? null, marks.get(r.marketId) ?? null];
    });
    out.push(
      db
        .prepare(marketSql)
        .bind(JSON.stringify(marketRows), rulesVersion, page.venue, page.evidenceHash, page.fetchedAt),
    );
  }
  return out;
}

/**
 * Statements that set the marks of these stored, unchanged rows (a mark refreshed before it ages past risk's
 * limit), each observed in its row's snapshot, under the same guard.
 */
export function refreshMarkStatements(
  db: D1Database,
  venue: MarketVenue,
  rows: StoredMarketRow[],
  marks: Map<string, string>,
  rulesVersion: number,
): D1PreparedStatement[] {
  const sql = `UPDATE markets SET mark_price = m.value ->> '$[1]', mark_evidence_hash = m.value ->> '$[2]',
       mark_observed_at = m.value ->> '$[3]'
     FROM json_each(?1) m WHERE markets.venue = ?3 AND markets.market_id = m.value ->> '$[0]' AND ${RULES_CURRENT}`;
  const out: D1PreparedStatement[] = [];
  const withMark = rows.filter((r) => marks.has(r.marketId));
  for (let i = 0; i < withMark.length; i += ROWS_PER_STATEMENT) {
    const markRows = withMark
      .slice(i, i + ROWS_PER_STATEMENT)
      .map((r) => [r.marketId, marks.get(r.marketId)!, r.evidenceHash, r.fetchedAt]);
    out.push(db.prepare(sql).bind(JSON.stringify(markRows), rulesVersion, venue));
  }
  return out;
}

/**
 * One statement recording that a committed page (or lookup) listed these stored markets: their sighting in this
 * snapshot, one row per page whatever the number of markets, under the same rules guard as the rows.
 */
export function recordSnapshotStatement(
  db: D1Database,
  venue: MarketVenue,
  evidenceHash: string,
  seenAt: string,
  ids: string[],
  rulesVersion: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO market_snapshots (venue, evidence_hash, seen_at, market_ids)
       SELECT ?3, ?4, ?5, ?1 WHERE ${RULES_CURRENT}`,
    )
    .bind(JSON.stringify(ids), rulesVersion, venue, evidenceHash, seenAt);
}

/**
 * Drop the snapshot pages of a venue seen before `before` (the start of the last complete pass). A market that no
 * later page lists keeps its last sighting on its row first (`last_seen_at`, `last_seen_evidence`): only markets
 * that left the venue's answer are written, never the rest.
 */
export function pruneSnapshotsStatements(
  db: D1Database,
  venue: MarketVenue,
  before: string,
): D1PreparedStatement[] {
  return [
    db
      .prepare(
        // Only the markets no retained page lists are grouped (a handful in a steady pass, not every sighting);
        // SQLite takes a MAX() aggregate's bare columns from the row holding the max: the newest page listing it.
        `WITH kept AS (
           SELECT j.value AS id FROM market_snapshots p, json_each(p.market_ids) j
           WHERE p.venue = ?1 AND p.seen_at >= ?2),
         gone AS (
           SELECT j.value AS id, MAX(p.id) AS page, p.seen_at, p.evidence_hash
           FROM market_snapshots p, json_each(p.market_ids) j
           WHERE p.venue = ?1 AND p.seen_at < ?2 AND j.value NOT IN kept GROUP BY j.value)
         UPDATE markets SET last_seen_at = gone.seen_at, last_seen_evidence = gone.evidence_hash
         FROM gone WHERE markets.venue = ?1 AND markets.market_id = gone.id`,
      )
      .bind(venue, before),
    db.prepare("DELETE FROM market_snapshots WHERE venue = ?1 AND seen_at < ?2").bind(venue, before),
  ];
}

/**
 * Statements that remove markets (with their marks, on the row, and books) from the store: one statement per
 * table, the ids travelling as one JSON array (none when `ids` is empty).
 */
export function deleteMarketsStatements(
  db: D1Database,
  venue: MarketVenue,
  ids: string[],
): D1PreparedStatement[] {
  if (ids.length === 0) return [];
  const list = JSON.stringify(ids);
  return ["markets", "order_books"].map((table) =>
    db
      .prepare(`DELETE FROM ${table} WHERE venue = ?1 AND market_id IN (SELECT value FROM json_each(?2))`)
      .bind(venue, list),
  );
}

/** One statement remembering that each (market, rule) pair was audited as blocked under `rulesVersion`. */
export function recordBlocksStatement(
  db: D1Database,
  venue: MarketVenue,
  blocks: [marketId: string, ruleId: string][],
  rulesVersion: number,
  evidenceHash: string,
  at: string,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR IGNORE INTO compliance_blocks (venue, market_id, rule_id, rules_version, evidence_hash, blocked_at)
       SELECT ?1, value ->> 0, value ->> 1, ?3, ?4, ?5 FROM json_each(?2)`,
    )
    .bind(venue, JSON.stringify(blocks), rulesVersion, evidenceHash, at);
}

/** Run statements in D1 batches (each batch is atomic); answers every statement's result, in order. */
export async function runBatches(db: D1Database, statements: D1PreparedStatement[]): Promise<D1Result[]> {
  const results: D1Result[] = [];
  for (let i = 0; i < statements.length; i += BATCH)
    results.push(...(await db.batch(statements.slice(i, i + BATCH))));
  return results;
}

/**
 * The compliance rules version in force, as a statement: put last in a commit's batch, it reads the version in the
 * same transaction as the writes (one round trip fewer than a read after the batch).
 */
export function rulesVersionStatement(db: D1Database): D1PreparedStatement {
  return db.prepare("SELECT COALESCE((SELECT version FROM compliance_meta WHERE singleton = 1), 0) AS v");
}

/** Store a book. */
export function putBookStatement(
  db: D1Database,
  b: Omit<OrderBookSnapshot, "ageSeconds">,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO order_books (venue, market_id, bids, asks, evidence_hash, fetched_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (venue, market_id) DO UPDATE SET bids = excluded.bids, asks = excluded.asks,
       evidence_hash = excluded.evidence_hash, fetched_at = excluded.fetched_at`,
    )
    .bind(b.venue, b.marketId, JSON.stringify(b.bids), JSON.stringify(b.asks), b.evidenceHash, b.fetchedAt);
}
