-- Pair assessments keep the Messages API request id, the token usage and how many requests were sent; an assessment
-- whose passing grade the terms check contradicted is `held`. SQLite cannot change a CHECK, so the table is rebuilt
-- (rows kept; older rows had one request each and no request id or usage kept).
PRAGMA defer_foreign_keys = true;

CREATE TABLE pair_assessments_v3 (
  assessment_id TEXT PRIMARY KEY,
  pair_id TEXT NOT NULL REFERENCES pairs(pair_id),
  model TEXT NOT NULL,
  prompt TEXT NOT NULL,
  prompt_hash TEXT NOT NULL,
  verdict TEXT NOT NULL,             -- JSON PairVerdict
  outcome TEXT NOT NULL CHECK (outcome IN ('verdict','refusal','error','timeout','malformed','held')),
  detail TEXT,
  kalshi_evidence_hash TEXT NOT NULL,
  polymarket_evidence_hash TEXT NOT NULL,
  kalshi_terms_hash TEXT NOT NULL,
  polymarket_terms_hash TEXT NOT NULL,
  audit_seq INTEGER NOT NULL,
  assessed_at TEXT NOT NULL,
  request_id TEXT,                   -- the API's request-id header of the last answer
  usage TEXT,                        -- JSON AssessmentUsage
  attempts INTEGER NOT NULL DEFAULT 1
);
INSERT INTO pair_assessments_v3 (assessment_id, pair_id, model, prompt, prompt_hash, verdict, outcome, detail,
  kalshi_evidence_hash, polymarket_evidence_hash, kalshi_terms_hash, polymarket_terms_hash, audit_seq, assessed_at)
SELECT assessment_id, pair_id, model, prompt, prompt_hash, verdict, outcome, detail,
  kalshi_evidence_hash, polymarket_evidence_hash, kalshi_terms_hash, polymarket_terms_hash, audit_seq, assessed_at
FROM pair_assessments;
DROP TABLE pair_assessments;
ALTER TABLE pair_assessments_v3 RENAME TO pair_assessments;
CREATE INDEX IF NOT EXISTS pair_assessments_pair ON pair_assessments (pair_id, assessed_at);

-- A review belongs to its reviewer: the current one names the person by Access subject as well as email, and every
-- review is kept as its own row (a veto by another person supersedes an approval; it does not overwrite it).
ALTER TABLE pairs ADD COLUMN reviewed_by_subject TEXT;
CREATE TABLE IF NOT EXISTS pair_reviews (
  review_id TEXT PRIMARY KEY,
  pair_id TEXT NOT NULL REFERENCES pairs(pair_id),
  decision TEXT NOT NULL CHECK (decision IN ('approved','rejected')),
  reviewer TEXT NOT NULL,            -- verified email (lower case)
  reviewer_subject TEXT NOT NULL,    -- Cloudflare Access subject
  note TEXT NOT NULL,
  assessment_id TEXT NOT NULL,
  kalshi_terms_hash TEXT NOT NULL,
  polymarket_terms_hash TEXT NOT NULL,
  supersedes TEXT,                   -- the review this one replaced as the pair's current review, if any
  audit_seq INTEGER NOT NULL,
  reviewed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pair_reviews_pair ON pair_reviews (pair_id, reviewed_at);
ALTER TABLE pairs ADD COLUMN review_id TEXT;

-- The terms-hash scheme a pair's hashes were computed under (1: rules, source, close time; 2: also title and outcome
-- tokens). Every pair stored before this migration holds version-1 hashes.
ALTER TABLE pairs ADD COLUMN terms_version INTEGER NOT NULL DEFAULT 1;
