// The stored markets, marks, books, sightings and evidence as the RPC reads them (ages computed against `now`,
// passed in); the writes are in store.ts.
import type {
  BookLevel,
  EvidenceRecord,
  MarketRecord,
  MarketVenue,
  MarkPrice,
  OrderBookSnapshot,
} from "@paulp/contracts";
import { termsHashSync, termsOf } from "./terms";

export interface MarketDbRow {
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
  fetched_at: string;
  /** The market's mark (the price risk was last given), all three set or all NULL. */
  mark_price: string | null;
  mark_evidence_hash: string | null;
  mark_observed_at: string | null;
}

/** One stored market, looked at `now` (epoch ms). */
export interface MarketAt {
  venue: MarketVenue;
  marketId: string;
  now: number;
}

/** The one row `sql` selects for a market (`?1` its venue, `?2` its id), or null. */
function rowOfMarket<R>(
  db: D1Database,
  { venue, marketId }: { venue: MarketVenue; marketId: string },
  sql: string,
): Promise<R | null> {
  return db.prepare(sql).bind(venue, marketId).first<R>();
}

/** A market's last sighting: the newest snapshot page listing it, else what its row kept. */
export async function lastSeen(
  db: D1Database,
  venue: MarketVenue,
  marketId: string,
): Promise<{ seenAt: string; evidenceHash: string } | null> {
  const row =
    (await rowOfMarket<{ seen_at: string; evidence_hash: string }>(
      db,
      { venue, marketId },
      `SELECT seen_at, evidence_hash FROM market_snapshots p
       WHERE p.venue = ?1 AND EXISTS (SELECT 1 FROM json_each(p.market_ids) WHERE value = ?2)
       ORDER BY p.id DESC LIMIT 1`,
    )) ??
    (await rowOfMarket<{ seen_at: string; evidence_hash: string }>(
      db,
      { venue, marketId },
      `SELECT COALESCE(last_seen_at, fetched_at) AS seen_at, COALESCE(last_seen_evidence, evidence_hash) AS evidence_hash
       FROM markets WHERE venue = ?1 AND market_id = ?2`,
    ));
  return row ? { seenAt: row.seen_at, evidenceHash: row.evidence_hash } : null;
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
    // Of the current scheme, from the stored fields (as proposals carry it; no hash is stored). A row with a lone
    // surrogate is never stored (the write refuses it); were one read, its empty hash would match no reviewed pair.
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
      ) ?? "",
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
  const row = await rowOfMarket<MarketDbRow>(
    db,
    { venue, marketId },
    "SELECT * FROM markets WHERE venue = ?1 AND market_id = ?2",
  );
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
  const sql = `SELECT m.* FROM markets m
    ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY m.venue, m.market_id LIMIT ?${binds.length}`;
  const rows = (
    await db
      .prepare(sql)
      .bind(...binds)
      .all<MarketDbRow>()
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
export async function getMarkRow(db: D1Database, at: MarketAt): Promise<MarkPrice | null> {
  const row = await rowOfMarket<{ price: string; evidence_hash: string; observed_at: string }>(
    db,
    at,
    `SELECT mark_price AS price, mark_evidence_hash AS evidence_hash, mark_observed_at AS observed_at
       FROM markets WHERE venue = ?1 AND market_id = ?2 AND mark_price IS NOT NULL`,
  );
  return row
    ? {
        venue: at.venue,
        marketId: at.marketId,
        price: row.price,
        evidenceHash: row.evidence_hash,
        observedAt: row.observed_at,
        ageSeconds: ageSeconds(row.observed_at, at.now),
      }
    : null;
}

/** The stored book of a market. */
export async function getBookRow(db: D1Database, at: MarketAt): Promise<OrderBookSnapshot | null> {
  const row = await rowOfMarket<{ bids: string; asks: string; evidence_hash: string; fetched_at: string }>(
    db,
    at,
    "SELECT bids, asks, evidence_hash, fetched_at FROM order_books WHERE venue = ?1 AND market_id = ?2",
  );
  return row
    ? {
        venue: at.venue,
        marketId: at.marketId,
        bids: JSON.parse(row.bids) as BookLevel[],
        asks: JSON.parse(row.asks) as BookLevel[],
        evidenceHash: row.evidence_hash,
        fetchedAt: row.fetched_at,
        ageSeconds: ageSeconds(row.fetched_at, at.now),
      }
    : null;
}
