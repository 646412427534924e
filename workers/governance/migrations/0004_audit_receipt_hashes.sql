-- Audit receipts are kept whole: next to the audit seq of an assessment and of a pair review, the hash the chain
-- gave it, so the record can later be checked against the chain (POST /admin/audit/receipts/check). Rows from before
-- have none.
ALTER TABLE pair_assessments ADD COLUMN audit_hash TEXT;
ALTER TABLE pair_reviews ADD COLUMN audit_hash TEXT;
