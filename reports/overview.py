"""The figures of the Overview page that no other report module computes.

Every function takes the page's `ReportFilters`; an agency user's filters carry
their agency_id, so scoping happens here in the query. Traffic comes from the
`usage_daily_dataset` rollup and active consumers from `visitor_presence` (see
reports/usage.py), never from the raw access log, so the page stays fast at tens of
millions of events.
"""

from __future__ import annotations

from datetime import date, timedelta
from string import Template

import polars as pl
from clickhouse_connect.driver.client import Client

from reports.filters import ReportFilters

OPEN_DATASETS_BY_CLASS = """
SELECT open_class, count() AS datasets
FROM datasets FINAL
WHERE status = 'open'
  AND ({agency_id:String} = '' OR agency_id = {agency_id:String})
  AND ({domain:String} = '' OR domain = {domain:String})
  AND ({dataset_id:String} = '' OR dataset_id = {dataset_id:String})
GROUP BY open_class
ORDER BY open_class
"""

# $scope and $visitor_scope become the conditions of the filters that are set
# (ReportFilters.conditions); the values stay query parameters.
# Sums per day and channel first: the engine answers that from the rollup's per-dataset-and-
# channel projection, a third of its rows.
TRAFFIC_SUMMARY = Template("""
WITH
per_day AS (
    SELECT day, channel, sum(calls) AS day_calls
    FROM usage_daily_dataset
    WHERE day BETWEEN {previous_from:Date} AND {date_to:Date}$scope
    GROUP BY day, channel
),
sums AS (
    SELECT
        sumIf(day_calls, channel != 'download' AND day = {date_to:Date})          AS calls_today,
        sumIf(day_calls, channel = 'download' AND day = {date_to:Date})           AS downloads_today,
        sumIf(day_calls, channel != 'download' AND day >= {date_from:Date})       AS calls_period,
        sumIf(day_calls, channel = 'download' AND day >= {date_from:Date})        AS downloads_period,
        sumIf(day_calls, channel != 'download' AND day < {date_from:Date})        AS calls_previous,
        sumIf(day_calls, channel = 'download' AND day < {date_from:Date})         AS downloads_previous
    FROM per_day
),
active AS (
    SELECT
        uniqExactIf(visitor, arrayExists(d -> d >= {date_from:Date}, days))   AS active_consumers,
        uniqExactIf(visitor, arrayExists(d -> d < {date_from:Date}, days))    AS active_consumers_previous
    FROM visitor_presence
    WHERE NOT anonymous
      AND month BETWEEN toStartOfMonth({previous_from:Date}) AND {date_to:Date}
      AND arrayExists(d -> d BETWEEN {previous_from:Date} AND {date_to:Date}, days)$visitor_scope
)
SELECT * FROM sums CROSS JOIN active
""")

DAILY_TRAFFIC = Template("""
SELECT day, if(channel = 'download', 'download', 'api') AS channel, sum(calls) AS calls
FROM usage_daily_dataset
WHERE day BETWEEN {date_from:Date} AND {date_to:Date}$scope
GROUP BY day, channel
ORDER BY day, channel
""")

TOP_DATASETS = Template("""
SELECT
    u.dataset_id                    AS dataset_id,
    d.name                          AS dataset,
    a.name                          AS agency,
    d.open_class                    AS open_class,
    u.api_calls                     AS api_calls,
    u.downloads                     AS downloads
FROM (
    SELECT
        dataset_id,
        sumIf(calls, channel != 'download')          AS api_calls,
        sumIf(calls, channel = 'download')           AS downloads
    FROM usage_daily_dataset
    WHERE day BETWEEN {date_from:Date} AND {date_to:Date}$scope
    GROUP BY dataset_id
    ORDER BY api_calls + downloads DESC, dataset_id
    LIMIT {limit:UInt32}
) AS u
LEFT JOIN (SELECT dataset_id, name, agency_id, open_class FROM datasets FINAL) AS d
    ON d.dataset_id = u.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS a ON a.agency_id = d.agency_id
ORDER BY api_calls + downloads DESC, dataset_id
""")

# Asked for the top datasets only, which the rollup's projection by dataset finds directly.
CONSUMERS_OF = Template("""
SELECT dataset_id, uniqExact(visitor) AS consumers
FROM visitor_presence
WHERE NOT anonymous AND dataset_id IN {datasets:Array(String)}
  AND month BETWEEN toStartOfMonth({date_from:Date}) AND {date_to:Date}
  AND arrayExists(d -> d BETWEEN {date_from:Date} AND {date_to:Date}, days)$visitor_scope
GROUP BY dataset_id
""")

VIOLATIONS_IN_YEAR = """
SELECT count() AS violations
FROM violations FINAL
WHERE toYear(recorded_at) = {year:UInt16}
  AND ({agency_id:String} = '' OR agency_id = {agency_id:String})
  AND ({dataset_id:String} = '' OR dataset_id = {dataset_id:String})
"""

# The latest quality check of each dataset in scope, averaged.
AVERAGE_QUALITY = """
SELECT avg(total) AS average, count() AS datasets
FROM (
    SELECT dataset_id, argMax(total, checked_at) AS total
    FROM quality_checks
    WHERE ({agency_id:String} = '' OR agency_id = {agency_id:String})
      AND ({dataset_id:String} = '' OR dataset_id = {dataset_id:String})
      AND ({domain:String} = '' OR dataset_id IN (
            SELECT dataset_id FROM datasets FINAL WHERE domain = {domain:String}))
    GROUP BY dataset_id
)
"""


def _frame(client: Client, sql: str, params: dict) -> pl.DataFrame:
    return pl.from_arrow(client.query_arrow(sql, parameters=params))


def _scoped(template: Template, filters: ReportFilters) -> str:
    """The query with the conditions of the filters that are set, for the rollups it reads."""
    return template.substitute(scope=filters.conditions("dataset"),
                               visitor_scope=filters.conditions("visitor"))


def previous_period_start(filters: ReportFilters) -> date:
    """The first day of the period of equal length just before the filters' range."""
    length = (filters.date_to - filters.date_from).days + 1
    return filters.date_from - timedelta(days=length)


def open_datasets_by_class(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Catalog entries in service (status open) per open class: columns open_class, datasets.

    Class `closed` (非开放) entries are listed in the catalog but not open; the page
    counts only unconditional and conditional ones as open datasets.
    """
    return _frame(client, OPEN_DATASETS_BY_CLASS, filters.as_params())


def traffic_summary(client: Client, filters: ReportFilters) -> dict[str, int]:
    """API calls and downloads on the last day of the range and over the range, with the
    previous period of equal length for the trend, and the consumers active in each."""
    params = filters.as_params() | {"previous_from": previous_period_start(filters)}
    row = client.query(_scoped(TRAFFIC_SUMMARY, filters), parameters=params).named_results()
    return {key: int(value or 0) for key, value in next(iter(row)).items()}


def daily_traffic(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Calls per day and channel (api | download) over the range: columns day, channel, calls.

    Days without traffic are present with zero calls, so a trend line has no gaps.
    """
    frame = _frame(client, _scoped(DAILY_TRAFFIC, filters), filters.as_params())
    days = pl.date_range(filters.date_from, filters.date_to, "1d", eager=True).alias("day")
    grid = pl.DataFrame({"day": days}).join(pl.DataFrame({"channel": ["api", "download"]}), how="cross")
    frame = frame.with_columns(pl.col("calls").cast(pl.Int64))
    return (
        grid.join(frame, on=["day", "channel"], how="left")
        .with_columns(pl.col("calls").fill_null(0))
        .sort(["day", "channel"])
    )


def top_datasets(client: Client, filters: ReportFilters, limit: int = 10) -> pl.DataFrame:
    """The most used datasets in the range: dataset_id, dataset, agency, open_class,
    api_calls, downloads, consumers."""
    top = _frame(client, _scoped(TOP_DATASETS, filters), filters.as_params() | {"limit": limit})
    params = filters.as_params() | {"datasets": top["dataset_id"].to_list()}
    consumers = _frame(client, _scoped(CONSUMERS_OF, filters), params)
    if consumers.is_empty():
        return top.with_columns(pl.lit(0, dtype=pl.UInt64).alias("consumers"))
    return top.join(consumers, on="dataset_id", how="left", maintain_order="left").with_columns(
        pl.col("consumers").fill_null(0))


def violations_in_year(client: Client, filters: ReportFilters, year: int | None = None) -> int:
    """Violations recorded in the year (default: the year of the range's last day)."""
    params = filters.as_params() | {"year": year or filters.date_to.year}
    return int(client.query(VIOLATIONS_IN_YEAR, parameters=params).result_rows[0][0])


def average_quality(client: Client, filters: ReportFilters) -> dict[str, float | int | None]:
    """Mean of each scoped dataset's latest quality score: {"average": float | None, "datasets": n}."""
    average, datasets = client.query(AVERAGE_QUALITY, parameters=filters.as_params()).result_rows[0]
    if not datasets:
        return {"average": None, "datasets": 0}
    return {"average": round(float(average), 1), "datasets": int(datasets)}


def percent_change(current: int, previous: int) -> float | None:
    """Change against the previous period in percent; None when there was nothing before."""
    if not previous:
        return None
    return round((current - previous) * 100.0 / previous, 1)
