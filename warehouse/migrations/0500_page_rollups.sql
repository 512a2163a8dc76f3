-- Rollups sized for the dashboard's pages (page data p95 <= 300 ms at 10 M events).
--
-- usage_daily keeps one row per consumer and day, which is what a consumer's usage report
-- needs but several times more rows than a page's breakdowns read. usage_daily_dataset sums
-- the same traffic per dataset, channel, scenario and consumer kind: the kind the consumers
-- table gives at ingest, 'anonymous' for anonymous use, '' for a consumer not (yet) in the
-- reference data. Loading the consumers reference rebuilds the kinds (warehouse/rollups.py).
--
-- Distinct counts over a date range cannot be added up from daily rows. visitor_presence
-- holds one row per month and (dataset, channel, scenario, visitor) with the days the visitor
-- was seen; a visitor is a registered consumer, or the client IP of anonymous use. Visitors
-- are stored as a 64-bit hash, so no IP address outlives the access log's retention here.
-- A consumer who calls the same dataset all month is one row, so a 90-day range reads a
-- few hundred thousand rows instead of millions.
--
-- field_usage_dataset_daily is field_usage_channel_daily without the consumer, for the
-- fields ranking and heatmap, by consumer kind too. operation_daily is the whole platform per day and channel, for
-- latency percentiles, whose digests are costly to merge by the hundred thousand.
--
-- field_usage_daily (0002) is dropped: field_usage_channel_daily (0300) holds the same
-- counts split by channel, and each view costs time on every insert.
--
-- usage_daily, usage_daily_dataset and visitor_presence have a projection sorted by
-- dataset, so a query for one agency or one dataset (every page an agency user sees, the
-- drill-down's lower levels) reads that agency's rows rather than every row of the range.
-- usage_daily_dataset also keeps its sums per day, dataset and channel (a third of its rows),
-- which the engine reads instead for sums that need neither scenario nor consumer kind.
-- An AggregatingMergeTree keeps a projection only when told to rebuild it on merges.
--
-- The INSERT statements fill the new tables from the log already stored (once, when the
-- migration is applied); the views keep them current from then on.
-- distributed: usage_daily_dataset, visitor_presence, field_usage_dataset_daily, operation_daily
-- distributed: access_log, usage_daily

DROP VIEW IF EXISTS field_usage_daily_mv;

DROP TABLE IF EXISTS field_usage_daily;

ALTER TABLE usage_daily MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';

ALTER TABLE usage_daily ADD PROJECTION IF NOT EXISTS by_dataset (SELECT * ORDER BY dataset_id, day, consumer_id);

ALTER TABLE usage_daily MATERIALIZE PROJECTION by_dataset SETTINGS mutations_sync = 2;

CREATE TABLE IF NOT EXISTS usage_daily_dataset (
    day           Date,
    dataset_id    LowCardinality(String),
    channel       LowCardinality(String),
    scenario      LowCardinality(String),
    consumer_kind LowCardinality(String),
    calls         SimpleAggregateFunction(sum, UInt64),
    errors        SimpleAggregateFunction(sum, UInt64),
    server_errors SimpleAggregateFunction(sum, UInt64),
    rows          SimpleAggregateFunction(sum, UInt64),
    bytes         SimpleAggregateFunction(sum, UInt64),
    latency       AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), UInt32),
    PROJECTION by_dataset (SELECT * ORDER BY dataset_id, day),
    PROJECTION per_dataset_channel (
        SELECT day, dataset_id, channel, sum(calls), sumIf(calls, channel = 'api'),
               sumIf(calls, channel = 'download'), sum(rows), sum(bytes), sum(errors)
        GROUP BY day, dataset_id, channel)
) ENGINE = AggregatingMergeTree
PARTITION BY toYear(day)
ORDER BY (day, dataset_id, channel, scenario, consumer_kind)
SETTINGS deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_daily_dataset_mv TO usage_daily_dataset AS
SELECT
    toDate(l.ts)                                              AS day,
    l.dataset_id                                              AS dataset_id,
    l.channel                                                 AS channel,
    l.scenario                                                AS scenario,
    if(l.consumer_id = '', 'anonymous', k.kind)               AS consumer_kind,
    count()                                                   AS calls,
    countIf(l.status >= 400)                                  AS errors,
    countIf(l.status >= 500)                                  AS server_errors,
    sum(l.rows)                                               AS rows,
    sum(l.bytes)                                              AS bytes,
    quantilesTDigestState(0.5, 0.95, 0.99)(l.latency_ms)      AS latency
FROM access_log AS l
LEFT JOIN (SELECT consumer_id, kind FROM consumers FINAL) AS k ON k.consumer_id = l.consumer_id
GROUP BY day, dataset_id, channel, scenario, consumer_kind;

CREATE TABLE IF NOT EXISTS visitor_presence (
    month         Date,
    dataset_id    LowCardinality(String),
    channel       LowCardinality(String),
    scenario      LowCardinality(String),
    anonymous     Bool,
    visitor       UInt64,                 -- sipHash64(consumer_id), or of client_ip when anonymous
    days          SimpleAggregateFunction(groupUniqArrayArray, Array(Date)),
    PROJECTION by_dataset (SELECT * ORDER BY dataset_id, month)
) ENGINE = AggregatingMergeTree
PARTITION BY toYear(month)
ORDER BY (month, dataset_id, channel, scenario, anonymous, visitor)
SETTINGS deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW IF NOT EXISTS visitor_presence_mv TO visitor_presence AS
SELECT
    toStartOfMonth(toDate(ts))                               AS month,
    dataset_id,
    channel,
    scenario,
    consumer_id = ''                                         AS anonymous,
    sipHash64(if(consumer_id = '', client_ip, consumer_id))  AS visitor,
    groupUniqArray(toDate(ts))                               AS days
FROM access_log
GROUP BY month, dataset_id, channel, scenario, anonymous, visitor;

CREATE TABLE IF NOT EXISTS field_usage_dataset_daily (
    day           Date,
    dataset_id    LowCardinality(String),
    channel       LowCardinality(String),
    consumer_kind LowCardinality(String),
    field         LowCardinality(String),
    calls         SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY toYear(day)
ORDER BY (day, dataset_id, channel, consumer_kind, field);

CREATE MATERIALIZED VIEW IF NOT EXISTS field_usage_dataset_daily_mv TO field_usage_dataset_daily AS
SELECT
    toDate(l.ts)                                       AS day,
    l.dataset_id                                       AS dataset_id,
    l.channel                                          AS channel,
    if(l.consumer_id = '', 'anonymous', k.kind)        AS consumer_kind,
    arrayJoin(if(empty(l.fields), ['*'], l.fields))    AS field,
    count()                                            AS calls
FROM access_log AS l
LEFT JOIN (SELECT consumer_id, kind FROM consumers FINAL) AS k ON k.consumer_id = l.consumer_id
GROUP BY day, dataset_id, channel, consumer_kind, field;

CREATE TABLE IF NOT EXISTS operation_daily (
    day           Date,
    channel       LowCardinality(String),
    anonymous     Bool,
    calls         SimpleAggregateFunction(sum, UInt64),
    errors        SimpleAggregateFunction(sum, UInt64),
    server_errors SimpleAggregateFunction(sum, UInt64),
    latency       AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), UInt32)
) ENGINE = AggregatingMergeTree
PARTITION BY toYear(day)
ORDER BY (day, channel, anonymous);

CREATE MATERIALIZED VIEW IF NOT EXISTS operation_daily_mv TO operation_daily AS
SELECT
    toDate(ts)                            AS day,
    channel,
    consumer_id = ''                      AS anonymous,
    count()                               AS calls,
    countIf(status >= 400)                AS errors,
    countIf(status >= 500)                AS server_errors,
    quantilesTDigestState(0.5, 0.95, 0.99)(latency_ms) AS latency
FROM access_log
GROUP BY day, channel, anonymous;

INSERT INTO usage_daily_dataset
SELECT toDate(l.ts) AS day, l.dataset_id AS dataset_id, l.channel AS channel, l.scenario AS scenario,
       if(l.consumer_id = '', 'anonymous', k.kind) AS consumer_kind,
       count(), countIf(l.status >= 400), countIf(l.status >= 500), sum(l.rows), sum(l.bytes),
       quantilesTDigestState(0.5, 0.95, 0.99)(l.latency_ms)
FROM access_log AS l
LEFT JOIN (SELECT consumer_id, kind FROM consumers FINAL) AS k ON k.consumer_id = l.consumer_id
GROUP BY day, dataset_id, channel, scenario, consumer_kind;

INSERT INTO visitor_presence
SELECT toStartOfMonth(toDate(ts)) AS month, dataset_id, channel, scenario, consumer_id = '' AS anonymous,
       sipHash64(if(consumer_id = '', client_ip, consumer_id)) AS visitor, groupUniqArray(toDate(ts))
FROM access_log
GROUP BY month, dataset_id, channel, scenario, anonymous, visitor;

INSERT INTO field_usage_dataset_daily
SELECT toDate(l.ts) AS day, l.dataset_id AS dataset_id, l.channel AS channel,
       if(l.consumer_id = '', 'anonymous', k.kind) AS consumer_kind,
       arrayJoin(if(empty(l.fields), ['*'], l.fields)) AS field, count()
FROM access_log AS l
LEFT JOIN (SELECT consumer_id, kind FROM consumers FINAL) AS k ON k.consumer_id = l.consumer_id
GROUP BY day, dataset_id, channel, consumer_kind, field;

INSERT INTO operation_daily
SELECT toDate(ts) AS day, channel, consumer_id = '' AS anonymous,
       count(), countIf(status >= 400), countIf(status >= 500),
       quantilesTDigestState(0.5, 0.95, 0.99)(latency_ms)
FROM access_log
GROUP BY day, channel, anonymous;
