-- Signed anchors: each anchor row carries its signed checkpoint (a C2SP-style signed note by the audit worker's
-- Ed25519 key: origin, toSeq, base64 anchor hash, a blank line, the signature line). An anchor rewritten with its
-- hash recomputed no longer matches the note its key signed. Rows from before this migration have none, and
-- verification refuses them: every anchor from here on must be signed, whoever writes it.
ALTER TABLE anchors ADD COLUMN checkpoint TEXT;

CREATE TRIGGER IF NOT EXISTS anchors_insert_signed BEFORE INSERT ON anchors
BEGIN
  SELECT RAISE(ABORT, 'anchor is not signed (checkpoint missing)')
    WHERE NEW.checkpoint IS NULL
       OR instr(NEW.checkpoint, char(10) || NEW.to_seq || char(10)) = 0
       OR instr(NEW.checkpoint, char(10) || char(10) || '— ') = 0;
END;
