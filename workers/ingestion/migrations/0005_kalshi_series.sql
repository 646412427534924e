-- Kalshi's category belongs to the series (kalshi-typescript models/series.ts), not to the market (which has no
-- category) nor to the event (whose category is deprecated). A market reaches its series through its event
-- (EventData.series_ticker). Both are kept with the evidence they came from, so each market's category can be
-- traced to the bytes that said it.
CREATE TABLE IF NOT EXISTS kalshi_series (
  ticker TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  -- As the venue gives it; an empty category is stored empty and read as none (risk refuses NO_CATEGORY).
  category TEXT NOT NULL,
  last_updated_ts TEXT,
  evidence_hash TEXT NOT NULL REFERENCES evidence (hash),
  fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kalshi_events (
  event_ticker TEXT PRIMARY KEY,
  series_ticker TEXT NOT NULL,
  title TEXT NOT NULL,
  evidence_hash TEXT NOT NULL REFERENCES evidence (hash),
  fetched_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kalshi_events_series ON kalshi_events (series_ticker);
