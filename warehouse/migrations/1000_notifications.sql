-- Notifications (reports/notify): what detection found that people were told of, and every try.
--
-- notify_groups: one row per alert group (detectors' group_key) and Shanghai day of its windows,
-- written the first time the notifier sees the group-day with an alert still new. It is the
-- "already announced" mark (re-detection of the same window finds it and sends nothing) and the
-- moment escalation deadlines count from. `escalated_at` is set once, when it was escalated.
--
-- notify_outbox: one row per message and channel, its id deterministic (channel, kind, key), so
-- a message is queued once however often the notifier runs. Rows are versions (newest
-- updated_at wins): pending → sent, or failed after the last attempt; `next_attempt_at` carries
-- the back-off. The body is rendered when queued, so what was sent is what is stored.
--
-- notify_attempts: every delivery attempt and its outcome, never updated.

CREATE TABLE IF NOT EXISTS notify_groups (
    group_key     String,
    day           Date,
    category      LowCardinality(String),
    severity      LowCardinality(String),
    agency_id     String,
    consumer_id   String,
    first_seen_at DateTime64(3, 'Asia/Shanghai'),
    escalated_at  Nullable(DateTime64(3, 'Asia/Shanghai')),
    updated_at    DateTime64(3, 'Asia/Shanghai')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (group_key, day);

CREATE TABLE IF NOT EXISTS notify_outbox (
    message_id      String,
    channel         String,
    kind            LowCardinality(String),     -- alert_group | escalation | daily_digest | operation_report | agency_digest | test
    subject_key     String,                     -- group_key|day, a date, a month, an agency|month
    severity        LowCardinality(String),
    subject         String,
    body            String,                     -- the rendered message as JSON
    attachment      String,                     -- a file under the data directory, or ''
    status          LowCardinality(String),     -- pending | sent | failed
    attempts        UInt16,
    next_attempt_at DateTime64(3, 'Asia/Shanghai'),
    last_error      String,
    created_at      DateTime64(3, 'Asia/Shanghai'),
    sent_at         Nullable(DateTime64(3, 'Asia/Shanghai')),
    updated_at      DateTime64(3, 'Asia/Shanghai')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY message_id;

CREATE TABLE IF NOT EXISTS notify_attempts (
    message_id  String,
    channel     String,
    kind        LowCardinality(String),
    attempt     UInt16,
    at          DateTime64(3, 'Asia/Shanghai'),
    ok          UInt8,
    status_code UInt16,                          -- the HTTP or SMTP reply code; 0 when none came
    reason      String,
    elapsed_ms  UInt32
) ENGINE = MergeTree
ORDER BY (channel, at);
