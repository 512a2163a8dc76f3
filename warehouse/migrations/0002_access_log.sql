-- The gateway access log and its pre-aggregates.
-- Times are stored in Asia/Shanghai so day and hour buckets are the city's wall clock.

CREATE TABLE IF NOT EXISTS access_log (
    event_id     String,
    ts           DateTime64(3, 'Asia/Shanghai'),
    consumer_id  String,                       -- empty: anonymous (第十七条)
    key_id       String,
    dataset_id   LowCardinality(String),
    channel      LowCardinality(String),       -- api | download | web (combined logs)
    endpoint     String,
    method       LowCardinality(String),
    status       UInt16,
    latency_ms   UInt32,
    rows         UInt64,
    bytes        UInt64,
    fields       Array(LowCardinality(String)),
    scenario     LowCardinality(String),
    client_ip    String,
    user_agent   String,
    params       String,                       -- JSON object as received
    batch_id     String,
    INDEX event_id_bloom event_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX consumer_bloom consumer_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX ip_bloom client_ip TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (dataset_id, consumer_id, ts)
{ttl_clause};

-- distributed: access_log, usage_hourly, usage_daily, field_usage_daily

CREATE TABLE IF NOT EXISTS usage_hourly (
    hour          DateTime('Asia/Shanghai'),
    dataset_id    LowCardinality(String),
    consumer_id   String,
    channel       LowCardinality(String),
    scenario      LowCardinality(String),
    calls         SimpleAggregateFunction(sum, UInt64),
    errors        SimpleAggregateFunction(sum, UInt64),
    server_errors SimpleAggregateFunction(sum, UInt64),
    rows          SimpleAggregateFunction(sum, UInt64),
    bytes         SimpleAggregateFunction(sum, UInt64),
    latency       AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), UInt32),
    ips           AggregateFunction(uniq, String)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, dataset_id, consumer_id, channel, scenario);

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_hourly_mv TO usage_hourly AS
SELECT
    toStartOfHour(ts)                     AS hour,
    dataset_id,
    consumer_id,
    channel,
    scenario,
    count()                               AS calls,
    countIf(status >= 400)                AS errors,
    countIf(status >= 500)                AS server_errors,
    sum(rows)                             AS rows,
    sum(bytes)                            AS bytes,
    quantilesTDigestState(0.5, 0.95, 0.99)(latency_ms) AS latency,
    uniqState(client_ip)                  AS ips
FROM access_log
GROUP BY hour, dataset_id, consumer_id, channel, scenario;

CREATE TABLE IF NOT EXISTS usage_daily (
    day           Date,
    dataset_id    LowCardinality(String),
    consumer_id   String,
    channel       LowCardinality(String),
    scenario      LowCardinality(String),
    calls         SimpleAggregateFunction(sum, UInt64),
    errors        SimpleAggregateFunction(sum, UInt64),
    server_errors SimpleAggregateFunction(sum, UInt64),
    rows          SimpleAggregateFunction(sum, UInt64),
    bytes         SimpleAggregateFunction(sum, UInt64),
    latency       AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), UInt32),
    ips           AggregateFunction(uniq, String)
) ENGINE = AggregatingMergeTree
PARTITION BY toYear(day)
ORDER BY (day, dataset_id, consumer_id, channel, scenario);

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_daily_mv TO usage_daily AS
SELECT
    toDate(ts)                            AS day,
    dataset_id,
    consumer_id,
    channel,
    scenario,
    count()                               AS calls,
    countIf(status >= 400)                AS errors,
    countIf(status >= 500)                AS server_errors,
    sum(rows)                             AS rows,
    sum(bytes)                            AS bytes,
    quantilesTDigestState(0.5, 0.95, 0.99)(latency_ms) AS latency,
    uniqState(client_ip)                  AS ips
FROM access_log
GROUP BY day, dataset_id, consumer_id, channel, scenario;

-- Which fields were requested, per day: 第二十九条 "main fields used" and the fields heatmap.
-- An empty `fields` array means "all fields" and is counted under '*'.
CREATE TABLE IF NOT EXISTS field_usage_daily (
    day          Date,
    dataset_id   LowCardinality(String),
    consumer_id  String,
    field        LowCardinality(String),
    calls        SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY toYear(day)
ORDER BY (day, dataset_id, consumer_id, field);

CREATE MATERIALIZED VIEW IF NOT EXISTS field_usage_daily_mv TO field_usage_daily AS
SELECT
    toDate(ts) AS day,
    dataset_id,
    consumer_id,
    arrayJoin(if(empty(fields), ['*'], fields)) AS field,
    count() AS calls
FROM access_log
GROUP BY day, dataset_id, consumer_id, field;
