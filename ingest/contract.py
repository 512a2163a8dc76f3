"""The input contract in code: every table's columns, which of them a row cannot do without,
the defaults of the others and the value sets of the enumerated ones.

docs/input-contract.md is the same contract in prose; tests/test_ingest_contract.py keeps
the two (and the migrations) from drifting apart. A column is required only when the
product cannot use a row without it: an id, the dataset a row is about, a date a rule
needs. Every other column takes a documented default, and the loader counts each use of
one as "defaulted" in its summary.
"""

from __future__ import annotations

from typing import NamedTuple

REFERENCE_TABLES = (
    "agencies",
    "datasets",
    "consumers",
    "api_keys",
    "agreements",
    "applications",
    "usage_reports",
    "complaints",
    "opening_plans",
)
ACCESS_LOG = "access_log"

# Each reference table's columns as migrations create them (without `updated_at`, which the
# engine sets): the loader's insert columns and the parser of each value follow the type.
REFERENCE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "agencies": (
        ("agency_id", "String"), ("name", "String"), ("name_en", "String"),
        ("kind", "LowCardinality(String)"),
    ),
    "datasets": (
        ("dataset_id", "String"), ("version", "UInt32"), ("agency_id", "String"), ("name", "String"),
        ("description", "String"), ("domain", "LowCardinality(String)"),
        ("open_class", "LowCardinality(String)"), ("format", "LowCardinality(String)"),
        ("fields", "String"), ("conditions", "String"), ("update_frequency", "LowCardinality(String)"),
        ("published_at", "Date"), ("last_updated", "DateTime('Asia/Shanghai')"),
        ("status", "LowCardinality(String)"), ("has_sample", "UInt8"), ("row_count", "UInt64"),
    ),
    "consumers": (
        ("consumer_id", "String"), ("name", "String"), ("kind", "LowCardinality(String)"),
        ("credit_code", "String"), ("registered_at", "DateTime('Asia/Shanghai')"),
    ),
    "api_keys": (
        ("key_id", "String"), ("consumer_id", "String"), ("created_at", "DateTime('Asia/Shanghai')"),
        ("status", "LowCardinality(String)"),
    ),
    "agreements": (
        ("agreement_id", "String"), ("application_id", "String"), ("consumer_id", "String"),
        ("dataset_id", "String"), ("scenarios", "Array(String)"), ("allowed_fields", "Array(String)"),
        ("ip_allowlist", "Array(String)"), ("daily_call_quota", "UInt64"), ("daily_row_quota", "UInt64"),
        ("valid_from", "Date"), ("valid_to", "Date"), ("signed_at", "DateTime('Asia/Shanghai')"),
        ("report_every_days", "UInt16"),
    ),
    "applications": (
        ("application_id", "String"), ("consumer_id", "String"), ("dataset_id", "String"),
        ("agency_id", "String"), ("scenario", "String"), ("submitted_at", "DateTime('Asia/Shanghai')"),
        ("accepted_at", "Nullable(DateTime('Asia/Shanghai'))"),
        ("decided_at", "Nullable(DateTime('Asia/Shanghai'))"),
        ("decision", "LowCardinality(String)"), ("reason", "String"),
    ),
    "usage_reports": (
        ("report_id", "String"), ("agreement_id", "String"), ("consumer_id", "String"),
        ("dataset_id", "String"), ("period_start", "Date"), ("period_end", "Date"), ("due_date", "Date"),
        ("filed_at", "Nullable(DateTime('Asia/Shanghai'))"), ("calls_reported", "UInt64"),
        ("fields_reported", "Array(String)"),
    ),
    "complaints": (
        ("complaint_id", "String"), ("dataset_id", "String"), ("agency_id", "String"),
        ("complainant_kind", "LowCardinality(String)"), ("subject", "LowCardinality(String)"),
        ("received_at", "DateTime('Asia/Shanghai')"), ("suspended_at", "Nullable(DateTime('Asia/Shanghai'))"),
        ("verified_at", "Nullable(DateTime('Asia/Shanghai'))"),
        ("resolved_at", "Nullable(DateTime('Asia/Shanghai'))"),
        ("outcome", "LowCardinality(String)"), ("description", "String"),
    ),
    # An agency's annual opening plan (公共数据开放年度计划): how many datasets it plans to open in
    # the year. Optional: the evaluation's quantity dimension weighs the plan in where one is loaded.
    "opening_plans": (
        ("agency_id", "String"), ("year", "UInt16"), ("planned_datasets", "UInt32"), ("note", "String"),
    ),
}

# What a row cannot do without. The first column of every table (its id) is required too.
REQUIRED: frozenset[tuple[str, str]] = frozenset({
    ("datasets", "agency_id"),          # agency scope and the annual evaluation
    ("datasets", "open_class"),         # which agreement rules apply to its use
    ("api_keys", "consumer_id"),
    ("agreements", "consumer_id"),
    ("agreements", "dataset_id"),
    ("agreements", "valid_from"),       # use before / after the agreement
    ("agreements", "valid_to"),
    ("applications", "consumer_id"),
    ("applications", "dataset_id"),
    ("applications", "submitted_at"),   # review within 5 working days
    ("usage_reports", "agreement_id"),
    ("usage_reports", "period_start"),  # the period the report is about
    ("usage_reports", "period_end"),
    ("usage_reports", "due_date"),      # overdue reports
    ("complaints", "dataset_id"),
    ("complaints", "received_at"),      # complaint timings
    ("opening_plans", "year"),
    ("opening_plans", "planned_datasets"),
})

# Value sets of the enumerated columns, as documented in the schema.
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("agencies", "kind"): ("city_bureau", "district", "other"),
    ("datasets", "open_class"): ("unconditional", "conditional", "closed"),
    ("datasets", "format"): ("api", "csv", "json", "xml", "xlsx", "pdf", "doc", "other"),
    # `static`: data that is not updated (第九条, 第十条); a withdrawn dataset becomes static.
    ("datasets", "update_frequency"): (
        "realtime", "daily", "weekly", "monthly", "quarterly", "semiannual", "yearly", "irregular",
        "static",
    ),
    ("datasets", "status"): ("open", "suspended", "withdrawn"),
    ("consumers", "kind"): ("person", "company", "organisation"),
    ("api_keys", "status"): ("active", "restricted", "closed"),
    ("applications", "decision"): ("pending", "approved", "rejected", "not_accepted"),
    ("complaints", "subject"): ("trade_secret", "privacy", "other"),
    ("complaints", "outcome"): ("pending", "withdrawn", "restored", "reopened"),
    (ACCESS_LOG, "channel"): ("api", "download", "web"),
}

# The engine's zero date and time: what the export did not record. The quality score and the
# evaluation already read them as "not recorded" (reports.quality.NO_DATE).
NOT_RECORDED = "1970-01-01"
NOT_RECORDED_TIME = "1970-01-01T00:00:00Z"


class Default(NamedTuple):
    """What an absent or empty column becomes: a value, or `derived` from the row (see the loader)."""

    value: object
    note: str              # how docs/input-contract.md names it
    derived: bool = False


DEFAULTS: dict[tuple[str, str], Default] = {
    ("agencies", "name"): Default(None, "the agency_id", derived=True),
    ("agencies", "kind"): Default("other", "other"),
    ("datasets", "version"): Default(1, "1"),
    ("datasets", "name"): Default(None, "the dataset_id (the quality score counts it unnamed)", derived=True),
    ("datasets", "format"): Default("other", "other"),
    ("datasets", "update_frequency"): Default("irregular", "irregular"),
    ("datasets", "published_at"): Default(NOT_RECORDED, "not recorded (1970-01-01)"),
    ("datasets", "last_updated"): Default(NOT_RECORDED_TIME, "not recorded (1970-01-01)"),
    ("datasets", "status"): Default("open", "open"),
    ("datasets", "has_sample"): Default(0, "0"),
    ("datasets", "row_count"): Default(0, "0"),
    ("consumers", "name"): Default(None, "the consumer_id", derived=True),
    ("consumers", "kind"): Default(
        None, "from credit_code: company when it starts with 9, organisation for another code, "
              "person without one", derived=True),
    ("consumers", "registered_at"): Default(NOT_RECORDED_TIME, "not recorded (1970-01-01)"),
    ("api_keys", "created_at"): Default(NOT_RECORDED_TIME, "not recorded (1970-01-01)"),
    ("api_keys", "status"): Default("active", "active"),
    ("agreements", "daily_call_quota"): Default(0, "0 (no quota)"),
    ("agreements", "daily_row_quota"): Default(0, "0 (no quota)"),
    ("agreements", "signed_at"): Default(None, "valid_from", derived=True),
    ("agreements", "report_every_days"): Default(90, "90"),
    ("applications", "agency_id"): Default(None, "the dataset's owner in the catalog", derived=True),
    ("applications", "decision"): Default("pending", "pending"),
    ("usage_reports", "consumer_id"): Default(None, "the agreement's consumer_id", derived=True),
    ("usage_reports", "dataset_id"): Default(None, "the agreement's dataset_id", derived=True),
    ("usage_reports", "calls_reported"): Default(0, "0"),
    ("complaints", "agency_id"): Default(None, "the dataset's owner in the catalog", derived=True),
    ("complaints", "subject"): Default("other", "other"),
    ("complaints", "outcome"): Default("pending", "pending"),
    ("opening_plans", "note"): Default("", "empty"),
}

# The access log's columns (ingest.validate checks them in the engine), and the columns a
# mapped log may use instead of some of them: they are converted into contract columns.
ACCESS_LOG_COLUMNS = (
    "event_id", "ts", "consumer_id", "key_id", "dataset_id", "channel", "endpoint", "method", "status",
    "latency_ms", "rows", "bytes", "fields", "scenario", "client_ip", "user_agent", "params",
)
ACCESS_LOG_REQUIRED = ("event_id", "ts", "channel", "status", "client_ip")
ACCESS_LOG_CONVERTED = {
    "latency_s": "latency_ms in seconds (nginx $request_time): multiplied by 1000",
    "request": 'the request line "GET /path?a=1 HTTP/1.1": method, endpoint and params',
    "request_uri": "path and query string: endpoint and params",
}


def columns_of(table: str) -> tuple[str, ...]:
    """The contract columns of a reference table or the access log."""
    if table == ACCESS_LOG:
        return ACCESS_LOG_COLUMNS
    return tuple(name for name, _ in REFERENCE_COLUMNS[table])


def is_required(table: str, column: str) -> bool:
    if table == ACCESS_LOG:
        return column in ACCESS_LOG_REQUIRED
    return column == columns_of(table)[0] or (table, column) in REQUIRED


TABLES = (*REFERENCE_TABLES, ACCESS_LOG)
