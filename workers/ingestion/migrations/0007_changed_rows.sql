-- Ingestion writes what changed (#16). A market row is rewritten only when its content changed: `content_hash` is
-- SHA-256 of the row's content as stored (every column but the evidence, terms hash and time), NULL for rows
-- stored before this migration (each is rewritten once, on its next sighting). `evidence_hash` and `fetched_at`
-- now name the snapshot that last changed the row.
ALTER TABLE markets ADD COLUMN content_hash TEXT;
-- Where the last sighting of a market is kept once the snapshot page that saw it is pruned (filled then, for the
-- markets no retained page lists; NULL while a retained page lists it).
ALTER TABLE markets ADD COLUMN last_seen_at TEXT;
ALTER TABLE markets ADD COLUMN last_seen_evidence TEXT;
-- One row per market-list page (or by-id lookup) committed: which stored markets that answer listed, with the
-- evidence of the answer. A row seen unchanged is recorded here, once per page, not rewritten; a market's last
-- sighting is the newest page listing it. Pages before the last complete pass are pruned (folded into the rows
-- above for markets no later page lists).
CREATE TABLE IF NOT EXISTS market_snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  venue TEXT NOT NULL,
  evidence_hash TEXT NOT NULL REFERENCES evidence (hash),
  seen_at TEXT NOT NULL,
  -- JSON array of the market ids the page listed and the gate allowed.
  market_ids TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS market_snapshots_venue ON market_snapshots (venue, seen_at);
-- Kalshi's incremental metadata crawl (`GET /markets?min_updated_ts=`): the Unix time (seconds) from which the next
-- one asks (the full pass, the periodic check, starts when the last one is old enough: ingest_state.pass_started_at).
ALTER TABLE ingest_state ADD COLUMN metadata_since INTEGER;
