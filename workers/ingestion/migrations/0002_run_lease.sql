-- A per-venue run lease, so a Cron Trigger run and a manual POST /admin/ingestion/run never interleave the
-- stored cursor. A run that dies without releasing it loses it when lease_until passes.
ALTER TABLE ingest_state ADD COLUMN lease_owner TEXT;
ALTER TABLE ingest_state ADD COLUMN lease_until INTEGER;
