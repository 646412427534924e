-- Polymarket's market list is now read from gamma's keyset endpoint (`GET /markets/keyset`, as Polymarket's own
-- SDK pages it), whose cursor is an opaque `next_cursor`. A cursor kept from the offset endpoint ("1500") is not
-- one: sent as `after_cursor` it would be refused on every run, so the pass starts again from the first page.
UPDATE ingest_state SET cursor = NULL WHERE venue = 'polymarket';
