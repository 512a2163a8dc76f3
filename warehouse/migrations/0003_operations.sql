-- Ingest bookkeeping, detector output, triage, violations, quality, audit.

CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id       String,                     -- deterministic: source fingerprint + chunk index
    source         String,
    source_sha256  String,
    chunk_index    UInt32,
    format         LowCardinality(String),
    status         LowCardinality(String),     -- running | done
    started_at     DateTime64(3, 'Asia/Shanghai'),
    finished_at    Nullable(DateTime64(3, 'Asia/Shanghai')),
    lines_read     UInt64,
    inserted       UInt64,
    duplicates     UInt64,
    rejected       UInt64,
    updated_at     DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY batch_id;

CREATE TABLE IF NOT EXISTS rejected_rows (
    batch_id     String,
    source       String,
    line_no      UInt64,
    raw          String,
    reason       String,
    rejected_at  DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(rejected_at)
ORDER BY (source, line_no);

CREATE TABLE IF NOT EXISTS alerts (
    alert_id     String,                       -- hash of (detector, entity, window): re-runs replace
    detector_id  LowCardinality(String),
    category     LowCardinality(String),
    article      LowCardinality(String),       -- seed article served, e.g. 第三十条
    severity     LowCardinality(String),       -- low | medium | high | critical
    score        Float32,
    consumer_id  String,
    key_id       String,
    client_ip    String,
    dataset_id   String,
    agency_id    String,
    window_start DateTime('Asia/Shanghai'),
    window_end   DateTime('Asia/Shanghai'),
    title        String,
    evidence     String,                       -- JSON a person can read
    group_key    String,                       -- similar alerts on one entity share it
    detected_at  DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(detected_at)
ORDER BY alert_id;

-- Status is event-sourced: the latest event of an alert is its state.
CREATE TABLE IF NOT EXISTS alert_events (
    alert_id     String,
    at           DateTime64(3, 'Asia/Shanghai'),
    actor        String,
    action       LowCardinality(String),       -- acknowledge | assign | dismiss | confirm | reopen
    status       LowCardinality(String),       -- new | acknowledged | confirmed | dismissed
    assignee     String,
    reason       String,
    violation_id String
) ENGINE = MergeTree
ORDER BY (alert_id, at);

CREATE TABLE IF NOT EXISTS violations (
    violation_id  String,
    consumer_id   String,
    key_id        String,
    dataset_id    String,
    agency_id     String,
    category      UInt8,                       -- 第三十一条 (一)…(五)
    description   String,
    alert_ids     Array(String),
    recorded_at   DateTime64(3, 'Asia/Shanghai'),
    recorded_by   String,
    severity      LowCardinality(String),
    publicized    UInt8 DEFAULT 0,
    updated_at    DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY violation_id;

CREATE TABLE IF NOT EXISTS measures (
    measure_id    String,
    violation_id  String,
    consumer_id   String,
    key_id        String,
    action        LowCardinality(String),      -- none | restrict | close
    starts_at     DateTime('Asia/Shanghai'),
    ends_at       Nullable(DateTime('Asia/Shanghai')),
    decided_by    String,
    reason        String,
    updated_at    DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY measure_id;

CREATE TABLE IF NOT EXISTS quality_checks (
    run_id       String,
    dataset_id   String,
    agency_id    String,
    checked_at   DateTime64(3, 'Asia/Shanghai'),
    total        Float32,
    dimensions   Map(String, Float32),
    losses       String,                       -- JSON array: dimension, points, cause, field, rule, count, example
    profiled     UInt8                         -- 1 when a data file was profiled
) ENGINE = MergeTree
PARTITION BY toYear(checked_at)
ORDER BY (dataset_id, checked_at);

CREATE TABLE IF NOT EXISTS detector_runs (
    run_id       String,
    started_at   DateTime64(3, 'Asia/Shanghai'),
    finished_at  DateTime64(3, 'Asia/Shanghai'),
    since        DateTime('Asia/Shanghai'),
    until        DateTime('Asia/Shanghai'),
    alerts       UInt64,
    summary      String
) ENGINE = MergeTree
ORDER BY started_at;

-- Ground truth of the demo platform's misuse episodes, for `odwatch eval`.
CREATE TABLE IF NOT EXISTS demo_episodes (
    episode_id    String,
    episode_type  LowCardinality(String),      -- an alert category
    consumer_id   String,
    key_id        String,
    client_ip     String,
    dataset_id    String,
    starts_at     DateTime('Asia/Shanghai'),
    ends_at       DateTime('Asia/Shanghai'),
    description   String
) ENGINE = ReplacingMergeTree
ORDER BY episode_id;

CREATE TABLE IF NOT EXISTS users (
    username       String,
    role           LowCardinality(String),     -- official | security | agency | admin
    agency_id      String,
    password_hash  String,
    disabled       UInt8 DEFAULT 0,
    updated_at     DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY username;

-- Append-only and hash-chained: each row's hash covers its content and the previous hash.
CREATE TABLE IF NOT EXISTS audit_log (
    seq        UInt64,
    at         DateTime64(3, 'Asia/Shanghai'),
    actor      String,
    action     LowCardinality(String),
    object_type LowCardinality(String),
    object_id  String,
    detail     String,
    prev_hash  String,
    hash       String
) ENGINE = MergeTree
ORDER BY seq;
