-- The fetch log (#18 replay): one row per fetch of a venue answer, in the order the fetches were made. Evidence is
-- content-addressed (identical bytes stored once) and `evidence_sightings` keeps only the first and last time each
-- URL returned them, so a book that went A, B, A, B, A would replay as A, B. This log keeps all five. Written in the
-- batch that records the evidence row (no extra round trip); pruned after each complete pass, past a retention
-- (FETCH_LOG_RETENTION_DAYS, default 34) no shorter than the longest replay a go-live may cite.
CREATE TABLE IF NOT EXISTS evidence_fetches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  hash TEXT NOT NULL REFERENCES evidence (hash),
  venue TEXT NOT NULL,
  url TEXT NOT NULL,
  status INTEGER NOT NULL,
  fetched_at TEXT NOT NULL
);
-- Fetch order is (fetched_at, id): an index on fetched_at orders its ties by rowid (id), so a window is read by a
-- keyset on the index alone, and the retention prune deletes from its old end.
CREATE INDEX IF NOT EXISTS evidence_fetches_order ON evidence_fetches (fetched_at);
