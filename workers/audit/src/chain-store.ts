import { GENESIS_POINT } from "@paulp/audit-chain";
import type { AuditMirrorBatch } from "@paulp/contracts";

/**
 * An idempotency key and the entry its append recorded (one row per keyed append). `recordedAt`: the entry's
 * time (ms); the row is kept KEY_RETENTION_MS after it (see idempotency-keys.ts).
 */
export interface KeyedEntry {
  key: string;
  seq: number;
  type: string;
  service: string;
  recordedAt: number;
}

/** One stored entry: its seq and its canonical line (what R2 and an export hold). */
export interface EntryRow {
  seq: number;
  body: string;
}

/**
 * The sequencer's typed store over its SQLite storage: the entries (one canonical line each), the R2 mirror
 * batches and the small meta values (integrity, verification progress). Every method is synchronous, so a
 * caller's read-then-write with no await between cannot interleave with another call.
 */
export class ChainStore {
  private readonly sql: SqlStorage;

  /** `nowMs`: the time a key table written before keys had a time is migrated at (its keys count from then). */
  constructor(
    private readonly storage: DurableObjectStorage,
    nowMs: number,
  ) {
    this.sql = storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS mirror_batches (
        from_seq INTEGER PRIMARY KEY, to_seq INTEGER NOT NULL, key TEXT NOT NULL, sha256 TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS idempotency_keys (
        key TEXT PRIMARY KEY, seq INTEGER NOT NULL, type TEXT NOT NULL, service TEXT NOT NULL,
        recorded_at INTEGER NOT NULL);`);
    // A key table from before keys had a time: its keys count as recorded now, so each is still kept a full
    // retention (a constant default: SQLite adds the column without rewriting the rows).
    const columns = this.sql.exec<{ name: string }>("PRAGMA table_info(idempotency_keys)").toArray();
    if (!columns.some((c) => c.name === "recorded_at"))
      this.sql.exec(
        `ALTER TABLE idempotency_keys ADD COLUMN recorded_at INTEGER NOT NULL DEFAULT ${Math.floor(nowMs)}`,
      );
    this.sql.exec(
      "CREATE INDEX IF NOT EXISTS idempotency_keys_recorded_at ON idempotency_keys (recorded_at)",
    );
  }

  /** The entry with the highest seq, if any. */
  lastEntry(): EntryRow | undefined {
    return this.sql
      .exec<{ seq: number; body: string }>("SELECT seq, body FROM entries ORDER BY seq DESC LIMIT 1")
      .toArray()[0];
  }

  /** The highest stored seq (0 when empty), read from the rows themselves, not the in-memory head. */
  maxSeq(): number {
    return Number(this.sql.exec("SELECT COALESCE(MAX(seq), 0) AS m FROM entries").one().m);
  }

  entryCount(): number {
    return Number(this.sql.exec("SELECT COUNT(*) AS n FROM entries").one().n);
  }

  /**
   * Write entry lines and the idempotency keys of their appends in one transaction: all or none. A key is
   * the primary key of its row, so a key written twice fails the whole write (nothing is recorded twice).
   */
  insertEntries(lines: readonly (readonly [number, string])[], keys: readonly KeyedEntry[] = []): void {
    this.storage.transactionSync(() => {
      for (const [seq, line] of lines)
        this.sql.exec("INSERT INTO entries (seq, body) VALUES (?, ?)", seq, line);
      for (const k of keys)
        this.sql.exec(
          "INSERT INTO idempotency_keys (key, seq, type, service, recorded_at) VALUES (?, ?, ?, ?, ?)",
          k.key,
          k.seq,
          k.type,
          k.service,
          k.recordedAt,
        );
    });
  }

  /** The entry an append with this idempotency key recorded (its seq, type and service), if one did. */
  keyedEntry(key: string): KeyedEntry | undefined {
    const row = this.sql
      .exec<{ key: string; seq: number; type: string; service: string; recorded_at: number }>(
        "SELECT key, seq, type, service, recorded_at FROM idempotency_keys WHERE key = ?",
        key,
      )
      .toArray()[0];
    return row
      ? {
          key: row.key,
          seq: Number(row.seq),
          type: row.type,
          service: row.service,
          recordedAt: Number(row.recorded_at),
        }
      : undefined;
  }

  /**
   * Delete up to `limit` keys recorded before `before` (ms), oldest first (an index range: the cost is the batch,
   * not the table). Returns how many were deleted.
   */
  deleteKeysRecordedBefore(before: number, limit: number): number {
    return this.sql
      .exec(
        `DELETE FROM idempotency_keys WHERE key IN
          (SELECT key FROM idempotency_keys WHERE recorded_at < ? ORDER BY recorded_at LIMIT ?) RETURNING key`,
        before,
        limit,
      )
      .toArray().length;
  }

  /** Entries `from`..`to` in seq order (objects). */
  entriesBetween(from: number, to: number): Iterable<EntryRow> {
    return this.sql.exec<{ seq: number; body: string }>(
      "SELECT seq, body FROM entries WHERE seq BETWEEN ? AND ? ORDER BY seq",
      from,
      to,
    );
  }

  /** Entries `from`..`to` in seq order as raw `[seq, body]` rows: no object per row (the verification walk). */
  entryRowsBetween(from: number, to: number): IterableIterator<[number, string]> {
    return this.sql
      .exec("SELECT seq, body FROM entries WHERE seq BETWEEN ? AND ? ORDER BY seq", from, to)
      .raw() as IterableIterator<[number, string]>;
  }

  /** Every entry after `seq` in seq order as raw `[seq, body]` rows. */
  entryRowsAfter(seq: number): IterableIterator<[number, string]> {
    return this.sql
      .exec("SELECT seq, body FROM entries WHERE seq > ? ORDER BY seq", seq)
      .raw() as IterableIterator<[number, string]>;
  }

  /** Entries after `afterSeq` up to `maxSeq`, at most `limit`, in seq order. */
  entriesPage(afterSeq: number, maxSeq: number, limit: number): Iterable<EntryRow> {
    return this.sql.exec<{ seq: number; body: string }>(
      "SELECT seq, body FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
      afterSeq,
      maxSeq,
      limit,
    );
  }

  private bodyAt(seq: number): string | undefined {
    return this.sql.exec<{ body: string }>("SELECT body FROM entries WHERE seq = ?", seq).toArray()[0]?.body;
  }

  /** The hash entry `seq` records (genesis for 0), if it is there and readable. */
  hashAt(seq: number): string | undefined {
    if (seq === 0) return GENESIS_POINT.hash;
    const body = this.bodyAt(seq);
    if (body === undefined) return undefined;
    try {
      return (JSON.parse(body) as { hash: string }).hash;
    } catch {
      return undefined;
    }
  }

  /** The `ts` of entry `seq`, if it is there and readable. */
  tsAt(seq: number): string | undefined {
    const body = this.bodyAt(seq);
    if (body === undefined) return undefined;
    try {
      const ts = (JSON.parse(body) as { ts?: unknown }).ts;
      return typeof ts === "string" && Number.isFinite(Date.parse(ts)) ? ts : undefined;
    } catch {
      return undefined;
    }
  }

  /** The last seq copied to R2 (0 when none). */
  mirroredTo(): number {
    return Number(this.sql.exec("SELECT COALESCE(MAX(to_seq), 0) AS m FROM mirror_batches").one().m);
  }

  /** Mirror batches wholly at or below `maxSeq`, in seq order. */
  batches(maxSeq = Number.MAX_SAFE_INTEGER): AuditMirrorBatch[] {
    return this.sql
      .exec<{ from_seq: number; to_seq: number; key: string; sha256: string }>(
        "SELECT from_seq, to_seq, key, sha256 FROM mirror_batches WHERE to_seq <= ? ORDER BY from_seq",
        maxSeq,
      )
      .toArray()
      .map((r) => ({ key: r.key, fromSeq: r.from_seq, toSeq: r.to_seq, sha256: r.sha256 }));
  }

  insertBatch(batch: AuditMirrorBatch): void {
    this.sql.exec(
      "INSERT INTO mirror_batches (from_seq, to_seq, key, sha256) VALUES (?, ?, ?, ?)",
      batch.fromSeq,
      batch.toSeq,
      batch.key,
      batch.sha256,
    );
  }

  getMeta<T>(key: string): T | undefined {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", key).toArray()[0];
    return row ? (JSON.parse(row.v) as T) : undefined;
  }

  setMeta<T>(key: string, value: T): void {
    this.sql.exec(
      "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
      key,
      JSON.stringify(value),
    );
  }

  deleteMeta(key: string): void {
    this.sql.exec("DELETE FROM meta WHERE k = ?", key);
  }
}
