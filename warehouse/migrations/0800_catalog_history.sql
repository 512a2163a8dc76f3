-- Catalog history, so that a past year is evaluated on the catalog as it was (第三十七条).
--
-- `agencies` and `datasets` keep only the newest version of a row (ReplacingMergeTree on the
-- id). These views copy every row inserted into them, whoever inserts it (the reference loader,
-- a platform sync), into a history table; `updated_at` is the moment that version was loaded.
-- "The catalog as of day D" is, per id, the newest version loaded by the end of D, or the first
-- version ever loaded when none was loaded by then (what the platform reported when it was first
-- connected is the best knowledge of the years before). reports/evaluation.py reads them.
-- The columns are named, not `*`: a column added to the catalog later must not break its inserts.
-- The INSERT statements keep the versions already stored when the migration is applied.

CREATE TABLE IF NOT EXISTS datasets_history (
    dataset_id        String,
    agency_id         String,
    name              String,
    domain            LowCardinality(String),
    open_class        LowCardinality(String),
    format            LowCardinality(String),
    update_frequency  LowCardinality(String),
    published_at      Date,
    last_updated      DateTime('Asia/Shanghai'),
    status            LowCardinality(String),
    has_sample        UInt8,
    updated_at        DateTime64(3, 'Asia/Shanghai')
) ENGINE = MergeTree
ORDER BY (dataset_id, updated_at);

CREATE MATERIALIZED VIEW IF NOT EXISTS datasets_history_mv TO datasets_history AS
SELECT dataset_id, agency_id, name, domain, open_class, format, update_frequency, published_at,
       last_updated, status, has_sample, updated_at
FROM datasets;

CREATE TABLE IF NOT EXISTS agencies_history (
    agency_id   String,
    name        String,
    kind        LowCardinality(String),
    updated_at  DateTime64(3, 'Asia/Shanghai')
) ENGINE = MergeTree
ORDER BY (agency_id, updated_at);

CREATE MATERIALIZED VIEW IF NOT EXISTS agencies_history_mv TO agencies_history AS
SELECT agency_id, name, kind, updated_at
FROM agencies;

INSERT INTO datasets_history
SELECT dataset_id, agency_id, name, domain, open_class, format, update_frequency, published_at,
       last_updated, status, has_sample, updated_at
FROM datasets;

INSERT INTO agencies_history SELECT agency_id, name, kind, updated_at FROM agencies
