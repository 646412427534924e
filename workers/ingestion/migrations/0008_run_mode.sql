-- Which kind of crawl a run was: `full` (a page of the full pass; Polymarket's only kind) or `incremental`
-- (Kalshi's `min_updated_ts` crawl of what changed). NULL for a failed run and for runs before this column.
ALTER TABLE ingest_runs ADD COLUMN mode TEXT;
