-- Requested fields per day and channel, so field statistics honour the channel filter of the
-- usage pages (field_usage_daily has no channel). Filled by its view from every insert into
-- access_log; an empty `fields` array means "all fields" and is counted under '*'.
-- distributed: field_usage_channel_daily, access_log

CREATE TABLE IF NOT EXISTS field_usage_channel_daily (
    day          Date,
    dataset_id   LowCardinality(String),
    consumer_id  String,
    channel      LowCardinality(String),
    field        LowCardinality(String),
    calls        SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY toYear(day)
ORDER BY (day, dataset_id, consumer_id, channel, field);

CREATE MATERIALIZED VIEW IF NOT EXISTS field_usage_channel_daily_mv TO field_usage_channel_daily AS
SELECT
    toDate(ts) AS day,
    dataset_id,
    consumer_id,
    channel,
    arrayJoin(if(empty(fields), ['*'], fields)) AS field,
    count() AS calls
FROM access_log
GROUP BY day, dataset_id, consumer_id, channel, field;
