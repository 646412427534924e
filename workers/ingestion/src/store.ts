import { createHash } from "node:crypto";
import type {
  BookLevel,
  EvidenceRecord,
  MarketRecord,
  MarketVenue,
  MarkPrice,
  OrderBookSnapshot,
} from "@paulp/contracts";
import { termsHashSync, termsOf } from "./terms";
import type { MarketRow, StoredMarketRow } from "./venues/types";

/** D1 allows a bounded number of statements per batch; write in chunks. */
const BATCH = 200;

interface MarketDbRow {
  venue: MarketVenue;
  market_id: string;
  event_id: string | null;
  series_id: string | null;
  title: string;
  category: string | null;
  status: string;
  close_time: string | null;
  rules: string | null;
  resolution_source: string | null;
  yes_bid: string | null;
  yes_ask: string | null;
  last_price: string | null;
  outcome_tokens: string | null;
  evidence_hash: string;
  terms_hash: string;
  fetched_at: string;
}

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
  "terms_hash",
  "fetched_at",
  "content_hash",
] as const;

/**
 * SHA-256 of a market row's content: every stored column but the evidence hash, terms hash and time (the terms are
 * a function of the content). JSON.stringify escapes a lone surrogate, so distinct contents never share a form.
 */
export function contentHash(r: MarketRow): string {
  return createHash("sha256")
    .update(JSON.stringify(contentValues(r)))
    .digest("hex");
}

/** A row's content columns as stored, in MARKET_COLUMNS order (the token ids as their JSON). */
function contentValues(r: MarketRow): (string | null)[] {
  return [
    r.venue,
    r.marketId,
    r.eventId,
    r.seriesId,
    r.title,
    r.category,
    r.status,
    r.closeTime,
    r.rules,
    r.resolutionSource,
    r.yesBid,
    r.yesAsk,
    r.lastPrice,
    r.outcomeTokens ? JSON.stringify(r.outcomeTokens) : null,
  ];
}

/** What is stored of a market a page lists: its content hash and when its mark was last observed (sent to risk). */
export interface StoredState {
  contentHash: string | null;
  status: string;
  markObservedAt: string | null;
}

/** The stored state of these markets (one read per page; markets not stored are absent from the map). */
export async function storedStates(
  db: D1Database,
  venue: MarketVenue,
  ids: string[],
): Promise<Map<string, StoredState>> {
  const out = new Map<string, StoredState>();
  if (ids.length === 0) return out;
  const rows = await db
    .prepare(
      `SELECT m.market_id, m.content_hash, m.status, k.observed_at FROM markets m
       LEFT JOIN marks k ON k.venue = m.venue AND k.market_id = m.market_id
       WHERE m.venue = ?1 AND m.market_id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(venue, JSON.stringify(ids))
    .all<{ market_id: string; content_hash: string | null; status: string; observed_at: string | null }>();
  for (const r of rows.results)
    out.set(r.market_id, { contentHash: r.content_hash, status: r.status, markObservedAt: r.observed_at });
  return out;
}

// Checked by every insert, inside the write: rules replaced since the gate ran make it write nothing.
const RULES_CURRENT = "(SELECT COALESCE((SELECT version FROM compliance_meta WHERE singleton = 1), 0)) = ?2";

/**
 * Statements that upsert market rows (those whose content changed), each with its content hash. Rows travel as one
 * JSON array per statement, expanded by SQLite's json_each: D1 binds at most 100 parameters per statement, and one
 * statement per row is slow.
 */
export function upsertMarketStatements(
  db: D1Database,
  rows: StoredMarketRow[],
  hashes: Map<string, string>,
  /** The compliance rules version the rows were gated under: a row is written only while it is current. */
  rulesVersion: number,
): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  const cols = MARKET_COLUMNS.join(", ");
  const select = MARKET_COLUMNS.map((_, i) => `value ->> '$[${i}]'`).join(", ");
  // A row written again is seen now: a sighting folded into it earlier no longer says the last one.
  const updates = [
    ...MARKET_COLUMNS.slice(2).map((c) => `${c} = excluded.${c}`),
    "last_seen_at = NULL",
    "last_seen_evidence = NULL",
  ].join(", ");
  const marketSql = `INSERT INTO markets (${cols}) SELECT ${select} FROM json_each(?1) WHERE ${RULES_CURRENT}
     ON CONFLICT (venue, market_id) DO UPDATE SET ${updates}`;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    const marketRows = chunk.map((r) => [
      ...contentValues(r),
      r.evidenceHash,
      r.termsHash,
      r.fetchedAt,
      hashes.get(r.marketId) ?? null,
    ]);
    out.push(db.prepare(marketSql).bind(JSON.stringify(marketRows), rulesVersion));
  }
  return out;
}

/** Statements that upsert the marks of these rows (each observed in its row's snapshot), under the same guard. */
export function upsertMarkStatements(
  db: D1Database,
  rows: StoredMarketRow[],
  marks: Map<string, string>,
  rulesVersion: number,
): D1PreparedStatement[] {
  const markSql = `INSERT INTO marks (venue, market_id, price, evidence_hash, observed_at)
     SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]', value ->> '$[4]' FROM json_each(?1) WHERE ${RULES_CURRENT}
     ON CONFLICT (venue, market_id) DO UPDATE SET price = excluded.price, evidence_hash = excluded.evidence_hash,
       observed_at = excluded.observed_at`;
  const out: D1PreparedStatement[] = [];
  const withMark = rows.filter((r) => marks.has(r.marketId));
  for (let i = 0; i < withMark.length; i += ROWS_PER_STATEMENT) {
    const markRows = withMark
      .slice(i, i + ROWS_PER_STATEMENT)
      .map((r) => [r.venue, r.marketId, marks.get(r.marketId)!, r.evidenceHash, r.fetchedAt]);
    out.push(db.prepare(markSql).bind(JSON.stringify(markRows), rulesVersion));
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
        `WITH old AS (
           SELECT j.value AS id, p.seen_at, p.evidence_hash,
             ROW_NUMBER() OVER (PARTITION BY j.value ORDER BY p.id DESC) AS n
           FROM market_snapshots p, json_each(p.market_ids) j WHERE p.venue = ?1 AND p.seen_at < ?2),
         kept AS (
           SELECT DISTINCT j.value AS id FROM market_snapshots p, json_each(p.market_ids) j
           WHERE p.venue = ?1 AND p.seen_at >= ?2)
         UPDATE markets SET last_seen_at = old.seen_at, last_seen_evidence = old.evidence_hash
         FROM old WHERE old.n = 1 AND markets.venue = ?1 AND markets.market_id = old.id
           AND old.id NOT IN (SELECT id FROM kept)`,
      )
      .bind(venue, before),
    db.prepare("DELETE FROM market_snapshots WHERE venue = ?1 AND seen_at < ?2").bind(venue, before),
  ];
}

/** A market's last sighting: the newest snapshot page listing it, else what its row kept. */
export async function lastSeen(
  db: D1Database,
  venue: MarketVenue,
  marketId: string,
): Promise<{ seenAt: string; evidenceHash: string } | null> {
  const page = await db
    .prepare(
      `SELECT seen_at, evidence_hash FROM market_snapshots p
       WHERE p.venue = ?1 AND EXISTS (SELECT 1 FROM json_each(p.market_ids) WHERE value = ?2)
       ORDER BY p.id DESC LIMIT 1`,
    )
    .bind(venue, marketId)
    .first<{ seen_at: string; evidence_hash: string }>();
  if (page) return { seenAt: page.seen_at, evidenceHash: page.evidence_hash };
  const row = await db
    .prepare(
      `SELECT COALESCE(last_seen_at, fetched_at) AS seen_at, COALESCE(last_seen_evidence, evidence_hash) AS evidence_hash
       FROM markets WHERE venue = ?1 AND market_id = ?2`,
    )
    .bind(venue, marketId)
    .first<{ seen_at: string; evidence_hash: string }>();
  return row ? { seenAt: row.seen_at, evidenceHash: row.evidence_hash } : null;
}

/**
 * Statements that remove markets (with their marks and books) from the store: one statement per table, the
 * ids travelling as one JSON array (none when `ids` is empty).
 */
export function deleteMarketsStatements(
  db: D1Database,
  venue: MarketVenue,
  ids: string[],
): D1PreparedStatement[] {
  if (ids.length === 0) return [];
  const list = JSON.stringify(ids);
  return ["markets", "marks", "order_books"].map((table) =>
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

/** Run statements in D1 batches (each batch is atomic). */
export async function runBatches(db: D1Database, statements: D1PreparedStatement[]): Promise<void> {
  for (let i = 0; i < statements.length; i += BATCH) await db.batch(statements.slice(i, i + BATCH));
}

function ageSeconds(at: string, now: number): number {
  return Math.max(0, Math.floor((now - Date.parse(at)) / 1000));
}

/** A stored market row as the RPC answers it. */
export function toRecord(r: MarketDbRow, now: number): MarketRecord {
  return {
    venue: r.venue,
    marketId: r.market_id,
    eventId: r.event_id,
    seriesId: r.series_id,
    title: r.title,
    category: r.category,
    status: r.status,
    closeTime: r.close_time,
    rules: r.rules,
    resolutionSource: r.resolution_source,
    yesBid: r.yes_bid,
    yesAsk: r.yes_ask,
    lastPrice: r.last_price,
    outcomeTokens: r.outcome_tokens ? (JSON.parse(r.outcome_tokens) as string[]) : null,
    evidenceHash: r.evidence_hash,
    // Of the current scheme, from the stored fields (as proposals carry it); a row the fast path cannot hash keeps
    // the hash it was stored with.
    termsHash:
      termsHashSync(
        termsOf({
          venue: r.venue,
          marketId: r.market_id,
          title: r.title,
          rules: r.rules,
          resolutionSource: r.resolution_source,
          closeTime: r.close_time,
          outcomeTokens: r.outcome_tokens ? (JSON.parse(r.outcome_tokens) as string[]) : null,
        }),
      ) ?? r.terms_hash,
    fetchedAt: r.fetched_at,
    ageSeconds: ageSeconds(r.fetched_at, now),
  };
}

/** One stored market. */
export async function getMarketRow(
  db: D1Database,
  venue: MarketVenue,
  marketId: string,
  now: number,
): Promise<MarketRecord | null> {
  const row = await db
    .prepare("SELECT * FROM markets WHERE venue = ?1 AND market_id = ?2")
    .bind(venue, marketId)
    .first<MarketDbRow>();
  return row ? toRecord(row, now) : null;
}

/** A page of stored markets ordered by (venue, market id); the cursor is the last key seen. */
export async function listMarketRows(
  db: D1Database,
  q: {
    venue?: MarketVenue;
    status?: string;
    /** Case-insensitive substring of the title or market id. */
    search?: string;
    /** Exact category, case-insensitive. */
    category?: string;
    limit: number;
    after?: { venue: string; marketId: string };
  },
  now: number,
): Promise<{ markets: MarketRecord[]; next: { venue: string; marketId: string } | null }> {
  const where: string[] = [];
  const binds: unknown[] = [];
  if (q.venue) {
    binds.push(q.venue);
    where.push(`m.venue = ?${binds.length}`);
  }
  if (q.status) {
    binds.push(q.status);
    where.push(`m.status = ?${binds.length}`);
  }
  if (q.category) {
    binds.push(q.category);
    where.push(`m.category = ?${binds.length} COLLATE NOCASE`);
  }
  if (q.search) {
    // LIKE's own wildcards in the search text are matched literally.
    binds.push(`%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(
      `(m.title LIKE ?${binds.length} ESCAPE '\\' OR m.market_id LIKE ?${binds.length} ESCAPE '\\')`,
    );
  }
  if (q.after) {
    binds.push(q.after.venue, q.after.marketId);
    where.push(`(m.venue, m.market_id) > (?${binds.length - 1}, ?${binds.length})`);
  }
  binds.push(q.limit + 1);
  const sql = `SELECT m.*, k.price AS mark_price, k.evidence_hash AS mark_evidence_hash, k.observed_at AS mark_observed_at
    FROM markets m LEFT JOIN marks k ON k.venue = m.venue AND k.market_id = m.market_id
    ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY m.venue, m.market_id LIMIT ?${binds.length}`;
  const rows = (
    await db
      .prepare(sql)
      .bind(...binds)
      .all<
        MarketDbRow & {
          mark_price: string | null;
          mark_evidence_hash: string | null;
          mark_observed_at: string | null;
        }
      >()
  ).results;
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    markets: page.map((r) => ({
      ...toRecord(r, now),
      mark:
        r.mark_price !== null && r.mark_evidence_hash !== null && r.mark_observed_at !== null
          ? {
              price: r.mark_price,
              evidenceHash: r.mark_evidence_hash,
              observedAt: r.mark_observed_at,
              ageSeconds: ageSeconds(r.mark_observed_at, now),
            }
          : null,
    })),
    next: rows.length > q.limit && last ? { venue: last.venue, marketId: last.market_id } : null,
  };
}

/** Evidence metadata, newest first; `after` is the last row of the previous page. */
export async function listEvidenceRows(
  db: D1Database,
  q: {
    venue?: string;
    from?: string;
    to?: string;
    limit: number;
    after?: { fetchedAt: string; hash: string };
  },
): Promise<{ evidence: EvidenceRecord[]; next: { fetchedAt: string; hash: string } | null }> {
  const where: string[] = [];
  const binds: unknown[] = [];
  if (q.venue) {
    binds.push(q.venue);
    where.push(`venue = ?${binds.length}`);
  }
  // Stored timestamps are ISO strings of one format (toISOString), so they order as strings.
  if (q.from) {
    binds.push(new Date(q.from).toISOString());
    where.push(`fetched_at >= ?${binds.length}`);
  }
  if (q.to) {
    binds.push(new Date(q.to).toISOString());
    where.push(`fetched_at < ?${binds.length}`);
  }
  if (q.after) {
    binds.push(q.after.fetchedAt, q.after.hash);
    where.push(`(fetched_at, hash) < (?${binds.length - 1}, ?${binds.length})`);
  }
  binds.push(q.limit + 1);
  const rows = (
    await db
      .prepare(
        `SELECT hash, venue, url, status, size, content_type, fetched_at, last_seen_at, parse_status, reject_reason
         FROM evidence ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY fetched_at DESC, hash DESC LIMIT ?${binds.length}`,
      )
      .bind(...binds)
      .all<{
        hash: string;
        venue: string;
        url: string;
        status: number;
        size: number;
        content_type: string;
        fetched_at: string;
        last_seen_at: string;
        parse_status: string;
        reject_reason: string | null;
      }>()
  ).results;
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    evidence: page.map((r) => ({
      hash: r.hash,
      venue: r.venue,
      url: r.url,
      status: r.status,
      size: r.size,
      contentType: r.content_type,
      fetchedAt: r.fetched_at,
      lastSeenAt: r.last_seen_at,
      parseStatus: r.parse_status,
      rejectReason: r.reject_reason,
    })),
    next: rows.length > q.limit && last ? { fetchedAt: last.fetched_at, hash: last.hash } : null,
  };
}

/** The stored mark of a market. */
export async function getMarkRow(
  db: D1Database,
  venue: MarketVenue,
  marketId: string,
  now: number,
): Promise<MarkPrice | null> {
  const row = await db
    .prepare("SELECT price, evidence_hash, observed_at FROM marks WHERE venue = ?1 AND market_id = ?2")
    .bind(venue, marketId)
    .first<{ price: string; evidence_hash: string; observed_at: string }>();
  return row
    ? {
        venue,
        marketId,
        price: row.price,
        evidenceHash: row.evidence_hash,
        observedAt: row.observed_at,
        ageSeconds: ageSeconds(row.observed_at, now),
      }
    : null;
}

/** The stored book of a market. */
export async function getBookRow(
  db: D1Database,
  venue: MarketVenue,
  marketId: string,
  now: number,
): Promise<OrderBookSnapshot | null> {
  const row = await db
    .prepare(
      "SELECT bids, asks, evidence_hash, fetched_at FROM order_books WHERE venue = ?1 AND market_id = ?2",
    )
    .bind(venue, marketId)
    .first<{ bids: string; asks: string; evidence_hash: string; fetched_at: string }>();
  return row
    ? {
        venue,
        marketId,
        bids: JSON.parse(row.bids) as BookLevel[],
        asks: JSON.parse(row.asks) as BookLevel[],
        evidenceHash: row.evidence_hash,
        fetchedAt: row.fetched_at,
        ageSeconds: ageSeconds(row.fetched_at, now),
      }
    : null;
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
