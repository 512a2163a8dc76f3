-- The annual evaluation counts each agency's distinct consumers over a year. visitor_presence
-- keeps a row per month, channel and scenario of each visitor's use of a dataset; this
-- projection keeps one per year, dataset and visitor (a tenth of the rows on the large demo
-- platform), which is all that count needs.
-- distributed: visitor_presence

ALTER TABLE visitor_presence ADD PROJECTION IF NOT EXISTS per_year_dataset_visitor (
    SELECT toYear(month), dataset_id, anonymous, visitor
    GROUP BY toYear(month), dataset_id, anonymous, visitor);

ALTER TABLE visitor_presence MATERIALIZE PROJECTION per_year_dataset_visitor SETTINGS mutations_sync = 2;
