-- Violations from any source (第三十条, 第三十一条): a confirmed alert, a public report (举报),
-- a complaint or an inspection. A report keeps who reported it and how to reach them (shown
-- only to security staff and administrators). Evidence files live under the data directory;
-- violation_attachments holds their checksum, size and type as read from the content.

ALTER TABLE violations
    ADD COLUMN IF NOT EXISTS source LowCardinality(String) DEFAULT 'alert',   -- alert | report | complaint | inspection
    ADD COLUMN IF NOT EXISTS source_ref String DEFAULT '',                  -- the complaint's or report's own number
    ADD COLUMN IF NOT EXISTS reporter_name String DEFAULT '',
    ADD COLUMN IF NOT EXISTS reporter_contact String DEFAULT '',
    ADD COLUMN IF NOT EXISTS client_ip String DEFAULT '';

CREATE TABLE IF NOT EXISTS violation_attachments (
    attachment_id String,
    violation_id  String,
    file_name     String,                        -- as uploaded
    media_type    LowCardinality(String),        -- from the content, e.g. application/pdf
    size          UInt64,
    sha256        String,
    stored_path   String,                        -- relative to the data directory
    uploaded_by   String,
    uploaded_at   DateTime64(3, 'Asia/Shanghai')
) ENGINE = MergeTree
ORDER BY (violation_id, uploaded_at, attachment_id);
