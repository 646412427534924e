-- Each compliance rule-set version is taken once: two concurrent updates from the same expected version cannot
-- both apply (the second insert fails, which rolls back its whole batch).
CREATE TABLE IF NOT EXISTS compliance_versions (
  version INTEGER PRIMARY KEY,
  taken_at TEXT NOT NULL
);
INSERT OR IGNORE INTO compliance_versions (version, taken_at)
  SELECT version, updated_at FROM compliance_meta WHERE singleton = 1;
