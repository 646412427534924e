-- Governance state: strategies and cross-venue market pairs. Approval requests live in the
-- ApprovalDesk Durable Object (serialised), not here.
CREATE TABLE IF NOT EXISTS schema_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS strategies (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('draft','paper','pending_live','live','paused','retired')),
  allocation TEXT NOT NULL,          -- dollars, decimal string
  venues TEXT NOT NULL,              -- JSON array
  params TEXT NOT NULL,              -- JSON object
  version INTEGER NOT NULL,          -- bumped on every change; compare-and-set guard
  pending_request_id TEXT,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS pairs (
  pair_id TEXT PRIMARY KEY,
  kalshi_market TEXT NOT NULL,
  polymarket_market TEXT NOT NULL,
  kalshi_leg TEXT NOT NULL,          -- JSON PairLeg
  polymarket_leg TEXT NOT NULL,      -- JSON PairLeg
  kalshi_terms_hash TEXT NOT NULL,
  polymarket_terms_hash TEXT NOT NULL,
  similarity REAL NOT NULL,
  grade TEXT CHECK (grade IN ('identical','near_equivalent','not_equivalent','uncertain')),
  yes_maps_to TEXT CHECK (yes_maps_to IN ('YES','NO')),
  reasons TEXT NOT NULL DEFAULT '[]',
  assessment_id TEXT,
  assessed_at TEXT,
  review TEXT NOT NULL DEFAULT 'pending' CHECK (review IN ('pending','approved','rejected')),
  reviewed_by TEXT,
  reviewed_at TEXT,
  -- What the reviewer saw: an approval counts only while these still match the current terms/assessment.
  reviewed_kalshi_terms_hash TEXT,
  reviewed_polymarket_terms_hash TEXT,
  reviewed_assessment_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (kalshi_market, polymarket_market)
);

CREATE TABLE IF NOT EXISTS pair_assessments (
  assessment_id TEXT PRIMARY KEY,
  pair_id TEXT NOT NULL REFERENCES pairs(pair_id),
  model TEXT NOT NULL,
  prompt TEXT NOT NULL,
  prompt_hash TEXT NOT NULL,
  verdict TEXT NOT NULL,             -- JSON PairVerdict
  outcome TEXT NOT NULL CHECK (outcome IN ('verdict','refusal','error','timeout','malformed')),
  detail TEXT,
  kalshi_evidence_hash TEXT NOT NULL,
  polymarket_evidence_hash TEXT NOT NULL,
  kalshi_terms_hash TEXT NOT NULL,
  polymarket_terms_hash TEXT NOT NULL,
  audit_seq INTEGER NOT NULL,
  assessed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pair_assessments_pair ON pair_assessments (pair_id, assessed_at);
