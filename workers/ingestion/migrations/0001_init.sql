-- Markets, evidence records, compliance rules (filled in by the ingestion issue).
CREATE TABLE IF NOT EXISTS schema_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
