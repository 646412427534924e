-- Replays (#18): one row per replay run, the index the admin API and the go-live citation read. The run itself (its
-- engine state between alarm steps) lives in its ReplayRun Durable Object; the report in R2_REPLAYS under
-- `reports/<id>.json`, its hash here and in the audit chain.
CREATE TABLE IF NOT EXISTS replays (
  id TEXT PRIMARY KEY,
  strategy_id TEXT NOT NULL,
  params_hash TEXT NOT NULL,
  window_from TEXT NOT NULL,
  window_to TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
  requested_at TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  sightings INTEGER NOT NULL DEFAULT 0,
  completed_at TEXT,
  report_hash TEXT,
  summary_json TEXT,
  failure_json TEXT
);
CREATE INDEX IF NOT EXISTS replays_by_strategy ON replays (strategy_id, requested_at DESC);
