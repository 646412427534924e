-- A market's terms hash is no longer stored (#16): every reader (getMarket, listMarkets, pair proposals) already
-- computed it from the stored fields under the current scheme, and the write path spent a SHA-256 per new market only
-- to fill this column and the content key. The content key now holds the terms' 64-bit fingerprint instead
-- (src/row-content.ts, scheme "c2:"); a row keyed under the old scheme is rewritten once, on its next sighting.
-- The deploy applies this just before it deploys the worker: a run of the old worker in between fails its writes
-- (d1_error; the next run takes the page again). Rolling the worker back past this needs the column added back first
-- (ALTER TABLE markets ADD COLUMN terms_hash TEXT NOT NULL DEFAULT '').
ALTER TABLE markets DROP COLUMN terms_hash;
