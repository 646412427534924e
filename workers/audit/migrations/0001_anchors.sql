-- Anchors of the audit chain (D1_ANCHOR). Filled in by the audit-chain issue.
CREATE TABLE IF NOT EXISTS anchors (
  anchor_no INTEGER PRIMARY KEY,
  to_seq INTEGER NOT NULL,
  head_hash TEXT NOT NULL,
  prev_anchor_hash TEXT NOT NULL,
  anchored_at TEXT NOT NULL,
  r2_manifest_hash TEXT NOT NULL,
  anchor_hash TEXT NOT NULL UNIQUE
);
