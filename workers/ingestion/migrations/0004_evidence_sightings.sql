-- Content-addressed evidence is stored once, but the same bytes can answer different requests (an empty order
-- book is byte-identical for every ticker): each request that returned them is recorded, so provenance names
-- the right URL for every row that links the evidence.
CREATE TABLE IF NOT EXISTS evidence_sightings (
  hash TEXT NOT NULL REFERENCES evidence (hash),
  url TEXT NOT NULL,
  status INTEGER NOT NULL,
  first_seen_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  PRIMARY KEY (hash, url)
);
INSERT OR IGNORE INTO evidence_sightings (hash, url, status, first_seen_at, last_seen_at)
  SELECT hash, url, status, fetched_at, last_seen_at FROM evidence;
