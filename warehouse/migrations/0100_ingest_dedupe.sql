-- Ingest dedupe: one compact row per stored access_log event, keyed by a 128-bit hash of
-- event_id, so each chunk's anti-join reads 16 bytes per stored event instead of the id text.
-- batch_id lets a crashed batch be taken back out before it is ingested again.

CREATE TABLE IF NOT EXISTS seen_events (
    event_key  FixedString(16),                -- sipHash128(event_id)
    batch_id   LowCardinality(String)
) ENGINE = MergeTree
ORDER BY event_key;
