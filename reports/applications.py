"""Conditional-access applications and what follows them (第十九条, 第二十条, 第二十九条).

The review clock: the big data centre accepts an application and hands it to the
agency, which must decide within 5 working days (statutory calendar, make-up
workdays included). A rejection or a refusal to accept must state its reason once
and completely (一次性告知); one without a reason is flagged.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import polars as pl
from clickhouse_connect.driver.client import Client

from odwatch import clock
from odwatch.calendar import SLA_WORKING_DAYS, working_days_between
from reports.filters import ReportFilters

# An application belongs to the period of the day its clock started: acceptance, or
# for one never accepted, its decision (not_accepted) or submission.
APPLICATIONS = """
SELECT
    a.application_id                     AS application_id,
    a.agency_id                          AS agency_id,
    ag.name                              AS agency_name,
    a.consumer_id                        AS consumer_id,
    a.dataset_id                         AS dataset_id,
    d.name                               AS dataset_name,
    toDate(a.submitted_at)               AS submitted_day,
    toDate(a.accepted_at)                AS accepted_day,
    toDate(a.decided_at)                 AS decided_day,
    toString(a.decision)                 AS decision,
    a.reason                             AS reason
FROM applications AS a FINAL
LEFT JOIN (SELECT dataset_id, name, domain FROM datasets FINAL) AS d ON d.dataset_id = a.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS ag ON ag.agency_id = a.agency_id
WHERE coalesce(toDate(a.accepted_at), toDate(a.decided_at), toDate(a.submitted_at))
        BETWEEN {date_from:Date} AND {date_to:Date}
  AND ({agency_id:String} = '' OR a.agency_id = {agency_id:String})
  AND ({dataset_id:String} = '' OR a.dataset_id = {dataset_id:String})
  AND ({domain:String} = '' OR d.domain = {domain:String})
ORDER BY a.agency_id, a.application_id
"""

EXPIRING_AGREEMENTS = """
SELECT
    g.agreement_id      AS agreement_id,
    g.consumer_id       AS consumer_id,
    c.name              AS consumer_name,
    g.dataset_id        AS dataset_id,
    d.name              AS dataset_name,
    d.agency_id         AS agency_id,
    g.valid_from        AS valid_from,
    g.valid_to          AS valid_to,
    dateDiff('day', {as_of:Date}, g.valid_to) AS days_left
FROM agreements AS g FINAL
LEFT JOIN (SELECT dataset_id, name, agency_id, domain FROM datasets FINAL) AS d ON d.dataset_id = g.dataset_id
LEFT JOIN (SELECT consumer_id, name FROM consumers FINAL) AS c ON c.consumer_id = g.consumer_id
WHERE g.valid_to BETWEEN {as_of:Date} AND {as_of:Date} + {within_days:UInt32}
  AND ({agency_id:String} = '' OR d.agency_id = {agency_id:String})
  AND ({dataset_id:String} = '' OR g.dataset_id = {dataset_id:String})
  AND ({domain:String} = '' OR d.domain = {domain:String})
ORDER BY g.valid_to, g.agreement_id
"""

# 第二十九条: a report is overdue when its due date has passed unfiled, or it was filed late.
OVERDUE_USAGE_REPORTS = """
SELECT
    r.report_id         AS report_id,
    r.agreement_id      AS agreement_id,
    r.consumer_id       AS consumer_id,
    c.name              AS consumer_name,
    r.dataset_id        AS dataset_id,
    d.name              AS dataset_name,
    d.agency_id         AS agency_id,
    r.period_start      AS period_start,
    r.period_end        AS period_end,
    r.due_date          AS due_date,
    toDate(r.filed_at)  AS filed_day,
    dateDiff('day', r.due_date, coalesce(toDate(r.filed_at), {as_of:Date})) AS days_late
FROM usage_reports AS r FINAL
LEFT JOIN (SELECT dataset_id, name, agency_id, domain FROM datasets FINAL) AS d ON d.dataset_id = r.dataset_id
LEFT JOIN (SELECT consumer_id, name FROM consumers FINAL) AS c ON c.consumer_id = r.consumer_id
WHERE r.due_date < {as_of:Date}
  AND r.due_date BETWEEN {date_from:Date} AND {date_to:Date}
  AND (r.filed_at IS NULL OR toDate(r.filed_at) > r.due_date)
  AND ({agency_id:String} = '' OR d.agency_id = {agency_id:String})
  AND ({dataset_id:String} = '' OR r.dataset_id = {dataset_id:String})
  AND ({domain:String} = '' OR d.domain = {domain:String})
ORDER BY days_late DESC, r.report_id
"""

REVIEW_SCHEMA = {
    "application_id": pl.String, "agency_id": pl.String, "agency_name": pl.String,
    "consumer_id": pl.String, "dataset_id": pl.String, "dataset_name": pl.String,
    "submitted_day": pl.Date, "accepted_day": pl.Date, "decided_day": pl.Date,
    "decision": pl.String, "reason": pl.String,
    "working_days": pl.Int64, "estimated": pl.Boolean, "within_sla": pl.Boolean,
    "overdue": pl.Boolean, "missing_reason": pl.Boolean,
}

SLA_SCHEMA = {
    "agency_id": pl.String, "agency_name": pl.String, "applications": pl.UInt32,
    "reviewed": pl.UInt32, "within_sla": pl.UInt32, "share_within_sla": pl.Float64,
    "median_working_days": pl.Float64, "overdue": pl.UInt32, "pending_overdue": pl.UInt32,
    "rejections": pl.UInt32, "missing_reason": pl.UInt32, "estimated": pl.Boolean,
}


@lru_cache(maxsize=65536)
def _cached_working_days(accepted: date, decided: date) -> tuple[int, bool]:
    return working_days_between(accepted, decided)


CLOCK_SCHEMA = {"accepted_day": pl.Date, "clock_end": pl.Date, "working_days": pl.Int64,
                "estimated": pl.Boolean}


def _review_clocks(frame: pl.DataFrame) -> pl.DataFrame:
    """Working days of each distinct (acceptance, end of clock) pair: far fewer than applications."""
    pairs = frame.filter(pl.col("accepted_day").is_not_null()).select("accepted_day", "clock_end").unique()
    return pl.DataFrame([(a, end, *_cached_working_days(a, end)) for a, end in pairs.iter_rows()],
                        schema=CLOCK_SCHEMA, orient="row")


def application_reviews(client: Client, filters: ReportFilters, as_of: date | None = None) -> pl.DataFrame:
    """One row per application with its review clock in working days and its flags.

    The clock runs from acceptance to the decision, or for a pending one until `as_of`.
    """
    as_of = as_of or clock.today()
    frame = pl.from_arrow(client.query_arrow(APPLICATIONS, parameters=filters.as_params()))
    if frame.is_empty():
        return pl.DataFrame(schema=REVIEW_SCHEMA)
    accepted = pl.col("accepted_day").is_not_null()
    reviewed = pl.col("decided_day").is_not_null() & (pl.col("decision") != "pending")
    frame = (frame.cast({"decision": pl.String})
             .with_columns(clock_end=pl.when(reviewed).then(pl.col("decided_day")).otherwise(pl.lit(as_of))))
    days = pl.col("working_days")
    clocks = _review_clocks(frame)
    return (frame.join(clocks, on=["accepted_day", "clock_end"], how="left", maintain_order="left")
            .with_columns(
                estimated=pl.col("estimated").fill_null(False),
                within_sla=pl.when(accepted).then(reviewed & (days <= SLA_WORKING_DAYS)),
                overdue=(days > SLA_WORKING_DAYS).fill_null(False),
                missing_reason=pl.col("decision").is_in(["rejected", "not_accepted"])
                & (pl.col("reason").str.strip_chars() == ""))
            .select(list(REVIEW_SCHEMA)).cast(REVIEW_SCHEMA))


def summarize_reviews(reviews: pl.DataFrame) -> pl.DataFrame:
    """Per agency: share decided within 5 working days, median, overdue, unreasoned refusals."""
    accepted = pl.col("accepted_day").is_not_null()
    reviewed = accepted & pl.col("decision").is_in(["approved", "rejected"])
    summary = reviews.group_by("agency_id").agg(
        pl.col("agency_name").drop_nulls().first().fill_null(""),
        accepted.sum().cast(pl.UInt32).alias("applications"),
        reviewed.sum().cast(pl.UInt32).alias("reviewed"),
        (reviewed & pl.col("within_sla")).sum().cast(pl.UInt32).alias("within_sla"),
        pl.col("working_days").filter(reviewed).median().alias("median_working_days"),
        (reviewed & pl.col("overdue")).sum().cast(pl.UInt32).alias("overdue"),
        (accepted & ~reviewed & pl.col("overdue")).sum().cast(pl.UInt32).alias("pending_overdue"),
        pl.col("decision").is_in(["rejected", "not_accepted"]).sum().cast(pl.UInt32).alias("rejections"),
        pl.col("missing_reason").sum().cast(pl.UInt32).alias("missing_reason"),
        pl.col("estimated").any().alias("estimated"),
    )
    share = pl.when(pl.col("reviewed") > 0).then(pl.col("within_sla") / pl.col("reviewed"))
    return (summary.with_columns(share.alias("share_within_sla"))
            .select(list(SLA_SCHEMA)).cast(SLA_SCHEMA).sort("agency_id"))


def review_sla(client: Client, filters: ReportFilters, as_of: date | None = None) -> pl.DataFrame:
    """The 第十九条 review SLA per agency over the filters' period."""
    return summarize_reviews(application_reviews(client, filters, as_of))


def overdue_applications(client: Client, filters: ReportFilters, as_of: date | None = None) -> pl.DataFrame:
    """Applications decided after 5 working days, and pending ones already past them."""
    reviews = application_reviews(client, filters, as_of)
    return reviews.filter(pl.col("overdue")).sort("working_days", descending=True)


def refusals_without_reason(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Rejections and refusals to accept that give no reason (一次性告知)."""
    return application_reviews(client, filters).filter(pl.col("missing_reason"))


def expiring_agreements(client: Client, filters: ReportFilters | None = None, *, within_days: int = 30,
                        as_of: date | None = None) -> pl.DataFrame:
    """Usage agreements whose validity ends within `within_days` of `as_of`."""
    as_of = as_of or clock.today()
    params = _scope_params(filters) | {"as_of": as_of, "within_days": within_days}
    return _frame(client.query(EXPIRING_AGREEMENTS, parameters=params))


def overdue_usage_reports(client: Client, filters: ReportFilters | None = None,
                          as_of: date | None = None) -> pl.DataFrame:
    """第二十九条 usage reports past their due date unfiled, or filed late (due date in the period)."""
    as_of = as_of or clock.today()
    filters = filters or ReportFilters(date_from=date(2000, 1, 1), date_to=as_of)
    params = filters.as_params() | {"as_of": as_of}
    return _frame(client.query(OVERDUE_USAGE_REPORTS, parameters=params))


def _scope_params(filters: ReportFilters | None) -> dict:
    if filters is None:
        return {"agency_id": "", "dataset_id": "", "domain": ""}
    params = filters.as_params()
    return {key: params[key] for key in ("agency_id", "dataset_id", "domain")}


def _frame(result) -> pl.DataFrame:
    columns = {name: [row[i] for row in result.result_rows] for i, name in enumerate(result.column_names)}
    return pl.DataFrame(columns)


def year_filters(year: int, agency_id: str | None = None) -> ReportFilters:
    return ReportFilters(date_from=date(year, 1, 1), date_to=date(year, 12, 31), agency_id=agency_id)

