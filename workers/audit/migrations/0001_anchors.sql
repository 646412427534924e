-- Anchors of the audit chain (D1_ANCHOR): periodic checkpoints of the chain head, kept outside the
-- Durable Object that holds the chain. Rows are append-only, enforced here so that no writer (a bug in
-- the worker included) can fork the anchor chain, skip a number, move toSeq backwards or rewrite a row.
CREATE TABLE IF NOT EXISTS anchors (
  anchor_no INTEGER PRIMARY KEY,
  to_seq INTEGER NOT NULL,
  head_hash TEXT NOT NULL,
  prev_anchor_hash TEXT NOT NULL,
  anchored_at TEXT NOT NULL,
  r2_manifest_hash TEXT NOT NULL,
  anchor_hash TEXT NOT NULL UNIQUE,
  -- The cron hour this anchor was made for (NULL when on demand): a cron firing twice makes one anchor.
  cron_slot INTEGER UNIQUE
);

CREATE TRIGGER IF NOT EXISTS anchors_insert_chain BEFORE INSERT ON anchors
BEGIN
  SELECT RAISE(ABORT, 'anchor_no is not the next anchor number')
    WHERE NEW.anchor_no != COALESCE((SELECT MAX(anchor_no) FROM anchors), 0) + 1;
  -- The first anchor links to the fixed anchor genesis, SHA-256("paulp.audit.anchor-genesis.v1").
  SELECT RAISE(ABORT, 'prev_anchor_hash is not the anchor genesis')
    WHERE NEW.anchor_no = 1 AND NEW.prev_anchor_hash != 'd8cb518b3d143c7c4b68631de449c2a07592a4d8364191e1d9d53d08b60fe056';
  SELECT RAISE(ABORT, 'prev_anchor_hash is not the latest anchor (fork)')
    WHERE NEW.anchor_no > 1
      AND NEW.prev_anchor_hash != (SELECT anchor_hash FROM anchors WHERE anchor_no = NEW.anchor_no - 1);
  SELECT RAISE(ABORT, 'to_seq goes backwards')
    WHERE NEW.to_seq < COALESCE((SELECT MAX(to_seq) FROM anchors), 0);
END;

CREATE TRIGGER IF NOT EXISTS anchors_no_update BEFORE UPDATE ON anchors
BEGIN
  SELECT RAISE(ABORT, 'anchors are append-only');
END;

CREATE TRIGGER IF NOT EXISTS anchors_no_delete BEFORE DELETE ON anchors
BEGIN
  SELECT RAISE(ABORT, 'anchors are append-only');
END;
