import { sha256Hex } from "@paulp/kit";
import type { RawResponse } from "./client";
import { fetchLogStatement } from "./fetch-log";

/** Where evidence lives. */
export interface EvidenceStore {
  bucket: R2Bucket;
  db: D1Database;
}

/** The hashes among `hashes` with no evidence record, in the order given (one query; ≤ 16 hashes an order). */
export async function missingEvidence(db: D1Database, hashes: readonly string[]): Promise<string[]> {
  if (hashes.length === 0) return [];
  const rows = await db
    .prepare("SELECT hash FROM evidence WHERE hash IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify(hashes))
    .all<{ hash: string }>();
  const stored = new Set(rows.results.map((r) => r.hash));
  return hashes.filter((h) => !stored.has(h));
}

/**
 * Put a response's raw bytes in R2 under their SHA-256, create-only, with R2 checking the hash on upload. Throws on
 * any failure: the caller must then parse and store nothing.
 *
 * Both options are kept on purpose. The key is the content's hash, so `sha256` is what makes R2 itself refuse bytes
 * altered between this worker and the store, while we still hold the right ones (a reader re-hashes too, but by then
 * the fetch is gone). Create-only means an object is written once: a later fetch of the same bytes never rewrites it,
 * so the object's metadata names its first fetch and an object altered in the bucket is not silently replaced by a
 * fresh copy that would hide the alteration (and a bucket lock can refuse overwrites without failing ingestion).
 * Measured side by side in workerd they cost no more than a plain put of the same bytes (docs/performance.md).
 */
export async function putEvidence(
  bucket: R2Bucket,
  venue: string,
  raw: RawResponse,
  fetchedAt: string,
): Promise<string> {
  const hash = await sha256Hex(raw.bytes);
  // Content-addressed and create-only: an object already under this key holds exactly these bytes, so the put's
  // precondition refuses it (null) and a head confirms it is there. The put goes first, without a head before it:
  // a page's bytes are almost always new (prices move), and that head was one more R2 round trip per page.
  const put = await bucket.put(hash, raw.bytes, {
    sha256: hash,
    onlyIf: { etagDoesNotMatch: "*" },
    httpMetadata: { contentType: raw.contentType },
    customMetadata: { venue, url: metadataUrl(raw.url), status: String(raw.status), fetchedAt },
  });
  if (!put && !(await bucket.head(hash))) throw new Error("evidence object was not created");
  return hash;
}

/**
 * R2's Workers binding refuses a put whose custom metadata (keys and values) passes 2,048 bytes; a URL of a
 * 100-ticker lookup alone passes it. The URL gets at most this many bytes there, the rest stays under the limit.
 */
export const METADATA_URL_MAX = 1_024;

/**
 * The URL as the object's metadata keeps it: whole up to `METADATA_URL_MAX` characters, else cut with a marker (the
 * D1 evidence row and the fetch log keep it whole; the metadata is a convenience for someone browsing the bucket).
 */
export function metadataUrl(url: string): string {
  // R2 counts a value with any character past U+00FF twice; a URL built by `new URL` is ASCII already.
  const ascii = url.replace(/[^\x20-\x7e]/g, "?");
  if (ascii.length <= METADATA_URL_MAX) return ascii;
  const marker = `...(${url.length} chars; whole in D1)`;
  return ascii.slice(0, METADATA_URL_MAX - marker.length) + marker;
}

/**
 * The D1 record of evidence already in R2, as statements a caller runs in its own batch: the evidence row (first
 * fetch; a later one moves `last_seen_at`), the sighting of this URL and (unless `logFetch` is false) this fetch in
 * the fetch log (fetch-log.ts).
 */
export function evidenceRecordStatements(
  db: D1Database,
  venue: string,
  raw: RawResponse,
  hash: string,
  fetchedAt: string,
  how: "fetched" | "recovered" = "fetched",
): D1PreparedStatement[] {
  const ok = raw.status >= 200 && raw.status < 300;
  // A fetch is the latest sighting: it moves last_seen_at on. A recovery (the evidence index audit) records bytes
  // fetched earlier: it writes only where no record exists, so a record made meanwhile keeps its own times, and the
  // evidence statement's `changes` says whether this recovery made the record.
  const fetched = how === "fetched";
  return [
    db
      .prepare(
        `INSERT INTO evidence (hash, venue, url, status, size, content_type, fetched_at, last_seen_at, parse_status, reject_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)
         ON CONFLICT (hash) ${fetched ? "DO UPDATE SET last_seen_at = excluded.last_seen_at" : "DO NOTHING"}`,
      )
      // A non-2xx answer is kept as evidence but never parsed as data.
      .bind(
        hash,
        venue,
        raw.url,
        raw.status,
        raw.bytes.byteLength,
        raw.contentType,
        fetchedAt,
        ok ? "pending" : "rejected",
        ok ? null : `http_${raw.status}`,
      ),
    // Every request these bytes answered (the evidence row keeps the first).
    db
      .prepare(
        `INSERT INTO evidence_sightings (hash, url, status, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (hash, url) ${fetched ? "DO UPDATE SET last_seen_at = excluded.last_seen_at, status = excluded.status" : "DO NOTHING"}`,
      )
      .bind(hash, raw.url, raw.status, fetchedAt),
    // Not for a recovery: the live pipeline never took these bytes up, and a fetch logged now under its old time
    // would change what a replay of that window, perhaps already cited, reads.
    ...(fetched ? [fetchLogStatement(db, { hash, venue, url: raw.url, status: raw.status, fetchedAt })] : []),
  ];
}

/**
 * Store a response's raw bytes (putEvidence), then record them in D1 in one batch. Throws on any failure: the caller
 * must then parse and store nothing.
 */
export async function storeEvidence(
  store: EvidenceStore,
  venue: string,
  raw: RawResponse,
  fetchedAt: string,
): Promise<string> {
  const hash = await putEvidence(store.bucket, venue, raw, fetchedAt);
  await store.db.batch(evidenceRecordStatements(store.db, venue, raw, hash, fetchedAt));
  return hash;
}

/** Record what parsing made of a piece of evidence. */
export function markEvidence(
  db: D1Database,
  hash: string,
  status: "accepted" | "rejected",
  reason: string | null,
): D1PreparedStatement {
  return db
    .prepare("UPDATE evidence SET parse_status = ?2, reject_reason = ?3 WHERE hash = ?1")
    .bind(hash, status, reason === null ? null : reason.slice(0, 500));
}

/** One request the evidence answered. */
export interface EvidenceSighting {
  url: string;
  status: number;
  firstSeenAt: string;
  lastSeenAt: string;
}

/** Evidence as read back, re-hashed. */
export type EvidenceRead =
  | {
      ok: true;
      bytes: Uint8Array;
      contentType: string;
      venue: string;
      url: string;
      /** Every request that returned these bytes (most recent first, at most 50). */
      sightings: EvidenceSighting[];
    }
  | { ok: false; code: "not_found" | "integrity_broken"; message: string };

/** Read evidence bytes and re-hash them: a mismatch is an integrity error, never data. */
export async function readEvidence(store: EvidenceStore, hash: string): Promise<EvidenceRead> {
  const row = await store.db
    .prepare("SELECT venue, url, content_type FROM evidence WHERE hash = ?1")
    .bind(hash)
    .first<{ venue: string; url: string; content_type: string }>();
  const object = await store.bucket.get(hash);
  if (!object) {
    return row
      ? {
          ok: false,
          code: "integrity_broken",
          message: `evidence ${hash} is recorded but its bytes are missing`,
        }
      : { ok: false, code: "not_found", message: `no evidence ${hash}` };
  }
  const bytes = new Uint8Array(await object.arrayBuffer());
  const actual = await sha256Hex(bytes);
  if (actual !== hash)
    return { ok: false, code: "integrity_broken", message: `evidence ${hash} re-hashes to ${actual}` };
  if (!row)
    return { ok: false, code: "integrity_broken", message: `evidence ${hash} has bytes but no record` };
  const seen = await store.db
    .prepare(
      "SELECT url, status, first_seen_at, last_seen_at FROM evidence_sightings WHERE hash = ?1 ORDER BY last_seen_at DESC LIMIT 50",
    )
    .bind(hash)
    .all<{ url: string; status: number; first_seen_at: string; last_seen_at: string }>();
  const sightings = seen.results.map((r) => ({
    url: r.url,
    status: r.status,
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
  }));
  return { ok: true, bytes, contentType: row.content_type, venue: row.venue, url: row.url, sightings };
}

/** Several objects' bytes as the evidence export reads them, re-hashed, within a byte budget. */
export type EvidenceObjectsRead =
  | { ok: true; objects: { hash: string; bytes: Uint8Array }[]; remaining: string[] }
  | { ok: false; code: "not_found" | "integrity_broken"; message: string };

/**
 * Read `hashes` (distinct) in the order given: the objects that fit `budgetBytes` by their recorded sizes (the first
 * always), read from R2 at once and each re-hashed; the rest are `remaining`. An object without bytes, or whose bytes
 * no longer hash to its name, refuses the whole call naming it: an export never carries bytes it cannot vouch for.
 */
export async function readEvidenceObjects(
  store: EvidenceStore,
  hashes: readonly string[],
  budgetBytes: number,
): Promise<EvidenceObjectsRead> {
  const rows = await store.db
    .prepare("SELECT hash, size FROM evidence WHERE hash IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify(hashes))
    .all<{ hash: string; size: number }>();
  const sizes = new Map(rows.results.map((r) => [r.hash, r.size]));
  // Planned by the recorded size (an unrecorded object counts as the largest kept, so the plan stays bounded).
  let planned = 0;
  let take = 0;
  for (const hash of hashes) {
    const size = sizes.get(hash) ?? budgetBytes;
    if (take > 0 && planned + size > budgetBytes) break;
    planned += size;
    take++;
  }
  const chosen = hashes.slice(0, take);
  const read = await Promise.all(chosen.map((hash) => store.bucket.get(hash)));
  const objects: { hash: string; bytes: Uint8Array }[] = [];
  for (const [i, object] of read.entries()) {
    const hash = chosen[i] as string;
    if (!object) return { ok: false, code: "not_found", message: `evidence ${hash} has no stored bytes` };
    const bytes = new Uint8Array(await object.arrayBuffer());
    const actual = await sha256Hex(bytes);
    if (actual !== hash)
      return { ok: false, code: "integrity_broken", message: `evidence ${hash} re-hashes to ${actual}` };
    objects.push({ hash, bytes });
  }
  return { ok: true, objects, remaining: hashes.slice(take) };
}
