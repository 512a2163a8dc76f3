-- The annual evaluation's life cycle and what agencies do with it (第三十七条).
--
-- evaluation_states: one row per step of a year's evaluation, never updated: published for
-- the agencies' review (复核) with the last day of the review window, then final (定稿). A
-- row holds the whole evaluation as JSON (every score with its inputs), so a published or final
-- year is read back, never computed again, and its SHA-256 is printed in the report.
-- The newest row of a year is its state; a year with no row is a draft, computed on demand.

CREATE TABLE IF NOT EXISTS evaluation_states (
    year           UInt16,
    state          LowCardinality(String),      -- published | final
    review_until   Date,
    snapshot       String,                      -- the evaluation as canonical JSON
    content_hash   String,                      -- SHA-256 of snapshot
    actor          String,
    recorded_at    DateTime64(3, 'Asia/Shanghai')
) ENGINE = MergeTree
ORDER BY (year, recorded_at);

-- 复核申请: an agency's objection to its published result, and the official's answer.
-- Event rows: the newest row of an objection is its state.
CREATE TABLE IF NOT EXISTS evaluation_objections (
    objection_id   String,
    year           UInt16,
    agency_id      String,
    dimension      LowCardinality(String),      -- a dimension key, or '' for the whole result
    reason         String,
    filed_by       String,
    filed_at       DateTime64(3, 'Asia/Shanghai'),
    status         LowCardinality(String),      -- open | accepted | rejected
    answer         String,
    answered_by    String,
    answered_at    Nullable(DateTime64(3, 'Asia/Shanghai')),
    updated_at     DateTime64(3, 'Asia/Shanghai')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY objection_id;

-- 整改: what an agency commits to improve, with a due date and its progress.
CREATE TABLE IF NOT EXISTS rectifications (
    item_id        String,
    year           UInt16,
    agency_id      String,
    dimension      LowCardinality(String),
    description    String,
    due_date       Date,
    status         LowCardinality(String),      -- planned | in_progress | done
    note           String,
    created_by     String,
    created_at     DateTime64(3, 'Asia/Shanghai'),
    updated_by     String,
    updated_at     DateTime64(3, 'Asia/Shanghai')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY item_id
