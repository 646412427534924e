-- Evidence records, markets, books, marks, compliance rules and ingestion state.
CREATE TABLE IF NOT EXISTS schema_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- One row per distinct response body (content-addressed): the bytes are in R2_EVIDENCE under `hash`.
CREATE TABLE IF NOT EXISTS evidence (
  hash TEXT PRIMARY KEY,
  venue TEXT NOT NULL,
  url TEXT NOT NULL,
  status INTEGER NOT NULL,
  size INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  fetched_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  -- pending until parsed; accepted or rejected (with the reason) after.
  parse_status TEXT NOT NULL DEFAULT 'pending',
  reject_reason TEXT
);
CREATE INDEX IF NOT EXISTS evidence_fetched ON evidence (fetched_at);

CREATE TABLE IF NOT EXISTS markets (
  venue TEXT NOT NULL,
  market_id TEXT NOT NULL,
  event_id TEXT,
  series_id TEXT,
  title TEXT NOT NULL,
  category TEXT,
  status TEXT NOT NULL,
  close_time TEXT,
  rules TEXT,
  resolution_source TEXT,
  yes_bid TEXT,
  yes_ask TEXT,
  last_price TEXT,
  outcome_tokens TEXT,
  evidence_hash TEXT NOT NULL REFERENCES evidence (hash),
  terms_hash TEXT NOT NULL,
  fetched_at TEXT NOT NULL,
  PRIMARY KEY (venue, market_id)
);
CREATE INDEX IF NOT EXISTS markets_status ON markets (venue, status);

CREATE TABLE IF NOT EXISTS order_books (
  venue TEXT NOT NULL,
  market_id TEXT NOT NULL,
  bids TEXT NOT NULL,
  asks TEXT NOT NULL,
  evidence_hash TEXT NOT NULL REFERENCES evidence (hash),
  fetched_at TEXT NOT NULL,
  PRIMARY KEY (venue, market_id)
);

CREATE TABLE IF NOT EXISTS marks (
  venue TEXT NOT NULL,
  market_id TEXT NOT NULL,
  price TEXT NOT NULL,
  evidence_hash TEXT NOT NULL REFERENCES evidence (hash),
  observed_at TEXT NOT NULL,
  PRIMARY KEY (venue, market_id)
);

-- The compliance rule set, replaced as a whole by PUT /admin/compliance/rules (audited with who).
CREATE TABLE IF NOT EXISTS compliance_rules (
  id TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  rule TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS compliance_meta (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  version INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);

-- Where each venue's pass stands, so a cron run continues where the last one stopped.
CREATE TABLE IF NOT EXISTS ingest_state (
  venue TEXT PRIMARY KEY,
  cursor TEXT,
  pass_started_at TEXT,
  passes_completed INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_ok_at TEXT
);

CREATE TABLE IF NOT EXISTS ingest_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  venue TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  outcome TEXT NOT NULL,
  pages INTEGER NOT NULL,
  fetched INTEGER NOT NULL,
  stored INTEGER NOT NULL,
  rejected INTEGER NOT NULL,
  blocked INTEGER NOT NULL,
  errors TEXT NOT NULL,
  pass_completed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ingest_runs_venue ON ingest_runs (venue, id);

-- Entities the gate blocked under a rule-set version: each is audited once per (rule, version), not every pass.
CREATE TABLE IF NOT EXISTS compliance_blocks (
  venue TEXT NOT NULL,
  market_id TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  rules_version INTEGER NOT NULL,
  evidence_hash TEXT NOT NULL,
  blocked_at TEXT NOT NULL,
  PRIMARY KEY (venue, market_id, rule_id, rules_version)
);
