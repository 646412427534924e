-- The evidence index audit (src/evidence-index.ts): where its walk of the evidence bucket stands (R2's list cursor,
-- NULL at the start of a walk) and what it has found. One row.
CREATE TABLE IF NOT EXISTS evidence_index_audit (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  cursor TEXT,
  passes_completed INTEGER NOT NULL DEFAULT 0,
  recorded_total INTEGER NOT NULL DEFAULT 0,
  unvouched_total INTEGER NOT NULL DEFAULT 0,
  -- Unvouched objects met by the walk under way, and by the last complete one (the monitor alerts while either is
  -- above 0: it clears once a whole walk meets none).
  unvouched_this_walk INTEGER NOT NULL DEFAULT 0,
  unvouched_last_walk INTEGER NOT NULL DEFAULT 0,
  last_step_at TEXT,
  -- JSON of the last step (EvidenceIndexStep in @paulp/contracts).
  last_step TEXT
);
