-- A market row is compared by its content key instead of a content hash (#16): its terms hash followed by the JSON of
-- its other content columns (src/row-content.ts, contentKey). A new row then costs one SHA-256 (the terms hash it
-- stores anyway) instead of two. Rows stored before have no key and are rewritten once, on their next sighting.
ALTER TABLE markets ADD COLUMN content_key TEXT;
ALTER TABLE markets DROP COLUMN content_hash;
