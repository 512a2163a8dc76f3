-- Rejected lines are stored verbatim up to a cap per file and reason (settings
-- ingest_rejects_stored_per_reason); the rest are counted only. Each batch records how many of
-- each rule it stored, so a re-run after a crash stores exactly what one clean run would.

ALTER TABLE ingest_batches ADD COLUMN IF NOT EXISTS rejects_stored Map(String, UInt64) AFTER rejected;
