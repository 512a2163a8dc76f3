"""Complaints about open data infringing rights (第二十六条): suspend, verify, then act.

The article asks the agency to suspend "immediately" when it finds it necessary,
verify, and then withdraw, restore, or process and reopen the data. The rules set
no number for "immediately" or for verification; the targets below are this
console's and are shown beside every figure that uses them.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from clickhouse_connect.driver.client import Client

from odwatch import clock
from odwatch.calendar import working_days_between
from reports.filters import ReportFilters

SUSPEND_WITHIN_HOURS = 24
VERIFY_WITHIN_WORKING_DAYS = 10
OUTCOME_LABELS = {
    "withdrawn": "撤回数据", "restored": "恢复开放", "reopened": "处理后再开放", "pending": "处理中",
}

COMPLAINTS = """
SELECT
    c.complaint_id                         AS complaint_id,
    c.dataset_id                           AS dataset_id,
    d.name                                 AS dataset_name,
    c.agency_id                            AS agency_id,
    ag.name                                AS agency_name,
    toString(c.subject)                    AS subject,
    toString(c.complainant_kind)           AS complainant_kind,
    toDate(c.received_at)                  AS received_day,
    toDate(c.verified_at)                  AS verified_day,
    dateDiff('minute', c.received_at, c.suspended_at) / 60.0   AS hours_to_suspend,
    dateDiff('minute', c.received_at, c.resolved_at) / 1440.0  AS days_to_resolve,
    toString(c.outcome)                    AS outcome
FROM complaints AS c FINAL
LEFT JOIN (SELECT dataset_id, name, domain FROM datasets FINAL) AS d ON d.dataset_id = c.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS ag ON ag.agency_id = c.agency_id
WHERE toDate(c.received_at) BETWEEN {date_from:Date} AND {date_to:Date}
  AND ({agency_id:String} = '' OR c.agency_id = {agency_id:String})
  AND ({dataset_id:String} = '' OR c.dataset_id = {dataset_id:String})
  AND ({domain:String} = '' OR d.domain = {domain:String})
ORDER BY c.received_at, c.complaint_id
"""

TIMING_SCHEMA = {
    "complaint_id": pl.String, "dataset_id": pl.String, "dataset_name": pl.String,
    "agency_id": pl.String, "agency_name": pl.String, "subject": pl.String,
    "complainant_kind": pl.String, "received_day": pl.Date, "verified_day": pl.Date,
    "hours_to_suspend": pl.Float64, "days_to_resolve": pl.Float64, "outcome": pl.String,
    "outcome_label": pl.String, "working_days_to_verify": pl.Int64, "estimated": pl.Boolean,
    "suspended_in_time": pl.Boolean, "verified_in_time": pl.Boolean, "closed": pl.Boolean,
}


def _timing(row: dict, as_of: date) -> dict:
    """Verification clock in working days; an unverified complaint's clock runs until `as_of`."""
    verified = row["verified_day"]
    days, estimated = working_days_between(row["received_day"], verified or as_of)
    hours = row["hours_to_suspend"]
    return {
        **row,
        "outcome_label": OUTCOME_LABELS.get(row["outcome"], row["outcome"]),
        "working_days_to_verify": days if verified else None,
        "estimated": estimated,
        "suspended_in_time": hours is not None and hours <= SUSPEND_WITHIN_HOURS,
        "verified_in_time": verified is not None and days <= VERIFY_WITHIN_WORKING_DAYS,
        "closed": row["outcome"] in ("withdrawn", "restored", "reopened"),
    }


def complaint_timings(client: Client, filters: ReportFilters, as_of: date | None = None) -> pl.DataFrame:
    """One row per complaint received in the period: time to suspend, to verify, the outcome."""
    as_of = as_of or clock.today()
    result = client.query(COMPLAINTS, parameters=filters.as_params())
    rows = [_timing(dict(zip(result.column_names, r, strict=True)), as_of) for r in result.result_rows]
    return pl.DataFrame(rows, schema=TIMING_SCHEMA, orient="row")


def summarize_complaints(timings: pl.DataFrame) -> pl.DataFrame:
    """Per agency: how many, how fast suspended and verified, and how they ended."""
    return timings.group_by("agency_id").agg(
        pl.col("agency_name").drop_nulls().first().fill_null(""),
        pl.len().cast(pl.UInt32).alias("complaints"),
        pl.col("suspended_in_time").sum().cast(pl.UInt32).alias("suspended_in_time"),
        pl.col("hours_to_suspend").median().alias("median_hours_to_suspend"),
        pl.col("verified_in_time").sum().cast(pl.UInt32).alias("verified_in_time"),
        pl.col("working_days_to_verify").median().cast(pl.Float64).alias("median_working_days_to_verify"),
        (pl.col("outcome") == "withdrawn").sum().cast(pl.UInt32).alias("withdrawn"),
        (pl.col("outcome") == "restored").sum().cast(pl.UInt32).alias("restored"),
        (pl.col("outcome") == "reopened").sum().cast(pl.UInt32).alias("reopened"),
        (~pl.col("closed")).sum().cast(pl.UInt32).alias("pending"),
    ).sort("agency_id")
