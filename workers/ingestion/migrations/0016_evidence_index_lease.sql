-- One step of the evidence index audit at a time (src/evidence-index.ts): two at once (the cron and an operator)
-- would audit and record the same object twice and count it twice. The step holding the walk, and until when (ms
-- since the epoch); a step whose isolate ended frees it when the time passes.
ALTER TABLE evidence_index_audit ADD COLUMN step_lease TEXT;
ALTER TABLE evidence_index_audit ADD COLUMN step_lease_until INTEGER;
