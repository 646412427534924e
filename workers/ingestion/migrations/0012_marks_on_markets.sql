-- A crawled market's mark lives on its row (#16): the marks table was 1:1 with markets by (venue, market_id), so a
-- cold pass wrote every market twice and every page's stored-state read joined the two. The mark is the price risk
-- was last given for the market, with the evidence of the answer it came from and when it was observed; NULL until
-- a snapshot or a fresh book gives the market a price. Existing marks are copied across, then the table is dropped
-- (the fast path's IBKR marks, the only ones with no market row, were never read back from it: they go to risk with
-- their evidence hash, and the snapshot bytes stay in evidence).
ALTER TABLE markets ADD COLUMN mark_price TEXT;
ALTER TABLE markets ADD COLUMN mark_evidence_hash TEXT REFERENCES evidence (hash);
ALTER TABLE markets ADD COLUMN mark_observed_at TEXT;
UPDATE markets SET mark_price = k.price, mark_evidence_hash = k.evidence_hash, mark_observed_at = k.observed_at
FROM marks k WHERE k.venue = markets.venue AND k.market_id = markets.market_id;
DROP TABLE marks;
