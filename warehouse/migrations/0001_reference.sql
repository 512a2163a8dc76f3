-- Reference data: the catalog and the people and agreements around it.
-- ReplacingMergeTree keyed by id: loading a file again upserts; read with FINAL.

CREATE TABLE IF NOT EXISTS agencies (
    agency_id   String,
    name        String,
    name_en     String,
    kind        LowCardinality(String),      -- city_bureau | district | other
    updated_at  DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY agency_id;

CREATE TABLE IF NOT EXISTS datasets (
    dataset_id        String,
    version           UInt32 DEFAULT 1,
    agency_id         String,
    name              String,
    description       String,
    domain            LowCardinality(String),
    open_class        LowCardinality(String),  -- unconditional | conditional | closed
    format            LowCardinality(String),  -- api | csv | json | xml | xlsx | pdf | doc | other
    fields            String,                  -- JSON array of {name, type, description}
    conditions        String,                  -- what a conditional applicant must supply (第十八条)
    update_frequency  LowCardinality(String),  -- realtime | daily | weekly | monthly | quarterly | yearly | irregular
    published_at      Date,
    last_updated      DateTime('Asia/Shanghai'),
    status            LowCardinality(String) DEFAULT 'open',  -- open | suspended | withdrawn
    has_sample        UInt8 DEFAULT 0,
    row_count         UInt64 DEFAULT 0,
    updated_at        DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY dataset_id;

CREATE TABLE IF NOT EXISTS consumers (
    consumer_id    String,
    name           String,
    kind           LowCardinality(String),     -- person | company | organisation
    credit_code    String,                     -- 统一社会信用代码; empty for persons
    registered_at  DateTime('Asia/Shanghai'),
    updated_at     DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY consumer_id;

CREATE TABLE IF NOT EXISTS api_keys (
    key_id       String,
    consumer_id  String,
    created_at   DateTime('Asia/Shanghai'),
    status       LowCardinality(String) DEFAULT 'active',  -- active | restricted | closed
    updated_at   DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key_id;

CREATE TABLE IF NOT EXISTS applications (
    application_id  String,
    consumer_id     String,
    dataset_id      String,
    agency_id       String,
    scenario        String,
    submitted_at    DateTime('Asia/Shanghai'),
    accepted_at     Nullable(DateTime('Asia/Shanghai')),
    decided_at      Nullable(DateTime('Asia/Shanghai')),
    decision        LowCardinality(String),    -- pending | approved | rejected | not_accepted
    reason          String,
    updated_at      DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY application_id;

CREATE TABLE IF NOT EXISTS agreements (
    agreement_id     String,
    application_id   String,
    consumer_id      String,
    dataset_id       String,
    scenarios        Array(String),
    allowed_fields   Array(String),
    ip_allowlist     Array(String),            -- addresses or CIDR networks
    daily_call_quota UInt64,
    daily_row_quota  UInt64,
    valid_from       Date,
    valid_to         Date,
    signed_at        DateTime('Asia/Shanghai'),
    report_every_days UInt16 DEFAULT 90,        -- 第二十九条 feedback period
    updated_at       DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY agreement_id;

CREATE TABLE IF NOT EXISTS usage_reports (
    report_id       String,
    agreement_id    String,
    consumer_id     String,
    dataset_id      String,
    period_start    Date,
    period_end      Date,
    due_date        Date,
    filed_at        Nullable(DateTime('Asia/Shanghai')),
    calls_reported  UInt64,
    fields_reported Array(String),
    updated_at      DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY report_id;

CREATE TABLE IF NOT EXISTS complaints (
    complaint_id     String,
    dataset_id       String,
    agency_id        String,
    complainant_kind LowCardinality(String),
    subject          LowCardinality(String),   -- trade_secret | privacy | other
    received_at      DateTime('Asia/Shanghai'),
    suspended_at     Nullable(DateTime('Asia/Shanghai')),
    verified_at      Nullable(DateTime('Asia/Shanghai')),
    resolved_at      Nullable(DateTime('Asia/Shanghai')),
    outcome          LowCardinality(String),   -- pending | withdrawn | restored | reopened
    description      String,
    updated_at       DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY complaint_id;
