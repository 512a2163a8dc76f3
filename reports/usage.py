"""Usage analytics from the pre-aggregated tables (第十六条, 第二十四条, 第二十九条).

Every function reads `usage_daily` (or the field-usage aggregates), merges the aggregate
states (`sum`, `uniqMerge`, `quantilesTDigestMerge`) and returns a polars DataFrame. The
filters of `ReportFilters` become one shared `filtered` CTE: agency and domain select
dataset ids from the small catalog table, consumer kind selects consumer ids (kind
'anonymous' means consumer_id ''), so the large tables are never joined row by row.

Measures everywhere: calls (all requests), api_calls, downloads, rows, bytes, errors
(status >= 400), consumers (distinct identified consumers) and anonymous_ips (distinct
client IPs of anonymous requests, merged from the per-row `uniq` states).
"""

from __future__ import annotations

from datetime import date

import polars as pl
from clickhouse_connect.driver.client import Client

from odwatch.errors import UserError
from reports.filters import ReportFilters

# The filters shared by every query; empty parameters mean "all".
ENTITY_FILTER = """
      ({dataset_id:String} = '' OR dataset_id = {dataset_id:String})
  AND ({channel:String} = '' OR channel = {channel:String})
  AND (({agency_id:String} = '' AND {domain:String} = '') OR dataset_id IN (
        SELECT dataset_id FROM datasets FINAL
        WHERE ({agency_id:String} = '' OR agency_id = {agency_id:String})
          AND ({domain:String} = '' OR domain = {domain:String})))
  AND ({consumer_kind:String} = ''
       OR ({consumer_kind:String} = 'anonymous' AND consumer_id = '')
       OR (consumer_id != '' AND consumer_id IN (
            SELECT consumer_id FROM consumers FINAL WHERE kind = {consumer_kind:String})))
"""

FILTERED_DAILY = """
WITH filtered AS (
    SELECT * FROM usage_daily
    WHERE day BETWEEN {date_from:Date} AND {date_to:Date} AND
""" + ENTITY_FILTER + """
)
"""

FILTERED_FIELDS = """
WITH filtered AS (
    SELECT * FROM field_usage_channel_daily
    WHERE day BETWEEN {date_from:Date} AND {date_to:Date} AND
""" + ENTITY_FILTER + """
)
"""

MEASURES = """
    sum(f.calls)                                     AS calls,
    sumIf(f.calls, f.channel = 'api')                AS api_calls,
    sumIf(f.calls, f.channel = 'download')           AS downloads,
    sum(f.rows)                                      AS rows,
    sum(f.bytes)                                     AS bytes,
    sum(f.errors)                                    AS errors,
    uniqExactIf(f.consumer_id, f.consumer_id != '')  AS consumers,
    uniqMergeIf(f.ips, f.consumer_id = '')           AS anonymous_ips
"""
# The same measures in two steps, for breakdowns that need a dimension table: first per dataset
# (or consumer) with the distinct counts kept as states, then merged per agency, domain or kind,
# so the join touches a few hundred pre-aggregated rows instead of every usage row.
PARTIAL_MEASURES = """
    sum(f.calls)                                          AS calls,
    sumIf(f.calls, f.channel = 'api')                     AS api_calls,
    sumIf(f.calls, f.channel = 'download')                AS downloads,
    sum(f.rows)                                           AS rows,
    sum(f.bytes)                                          AS bytes,
    sum(f.errors)                                         AS errors,
    uniqExactStateIf(f.consumer_id, f.consumer_id != '')  AS consumer_state,
    uniqMergeStateIf(f.ips, f.consumer_id = '')           AS ip_state
"""
MERGED_MEASURES = """
    sum(p.calls)                 AS calls,
    sum(p.api_calls)             AS api_calls,
    sum(p.downloads)             AS downloads,
    sum(p.rows)                  AS rows,
    sum(p.bytes)                 AS bytes,
    sum(p.errors)                AS errors,
    uniqExactMerge(p.consumer_state) AS consumers,
    uniqMerge(p.ip_state)        AS anonymous_ips
"""
MEASURE_COLUMNS = ["calls", "api_calls", "downloads", "rows", "bytes", "errors", "consumers", "anonymous_ips"]

CALLS_BY_DAY = FILTERED_DAILY + "SELECT day," + MEASURES + """
FROM filtered AS f
GROUP BY f.day
ORDER BY day
"""

PER_DATASET = FILTERED_DAILY + """,
per_dataset AS (
    SELECT f.dataset_id AS dataset_id,""" + PARTIAL_MEASURES + """
    FROM filtered AS f
    GROUP BY f.dataset_id
)
"""

BY_AGENCY = PER_DATASET + "SELECT d.agency_id AS agency_id, any(a.name) AS agency_name," + \
    MERGED_MEASURES + """,
    count() AS datasets
FROM per_dataset AS p
LEFT JOIN (SELECT dataset_id, agency_id FROM datasets FINAL) AS d ON d.dataset_id = p.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS a ON a.agency_id = d.agency_id
GROUP BY agency_id
ORDER BY calls DESC, agency_id
"""

BY_DOMAIN = PER_DATASET + "SELECT d.domain AS domain," + MERGED_MEASURES + """,
    count() AS datasets
FROM per_dataset AS p
LEFT JOIN (SELECT dataset_id, domain FROM datasets FINAL) AS d ON d.dataset_id = p.dataset_id
GROUP BY domain
ORDER BY calls DESC, domain
"""

BY_DATASET = """
SELECT g.dataset_id AS dataset_id, g.* EXCEPT (dataset_id),
       d.name AS dataset_name, d.agency_id AS agency_id, a.name AS agency_name, d.domain AS domain,
       d.open_class AS open_class
FROM (""" + FILTERED_DAILY + "SELECT f.dataset_id AS dataset_id," + MEASURES + """
      FROM filtered AS f GROUP BY f.dataset_id) AS g
LEFT JOIN (SELECT dataset_id, name, agency_id, domain, open_class FROM datasets FINAL) AS d
    ON d.dataset_id = g.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS a ON a.agency_id = d.agency_id
ORDER BY g.calls DESC, g.dataset_id
"""

BY_CONSUMER = """
SELECT g.consumer_id AS consumer_id, g.* EXCEPT (consumer_id),
       c.name AS consumer_name, if(g.consumer_id = '', 'anonymous', c.kind) AS consumer_kind
FROM (""" + FILTERED_DAILY + "SELECT f.consumer_id AS consumer_id," + MEASURES + """,
             uniqExact(f.dataset_id) AS datasets
      FROM filtered AS f GROUP BY f.consumer_id) AS g
LEFT JOIN (SELECT consumer_id, name, kind FROM consumers FINAL) AS c ON c.consumer_id = g.consumer_id
ORDER BY g.calls DESC, g.consumer_id
"""

BY_CONSUMER_KIND = FILTERED_DAILY + """,
per_consumer AS (
    SELECT f.consumer_id AS consumer_id,""" + PARTIAL_MEASURES + """
    FROM filtered AS f
    GROUP BY f.consumer_id
)
SELECT if(p.consumer_id = '', 'anonymous', c.kind) AS consumer_kind,""" + MERGED_MEASURES + """
FROM per_consumer AS p
LEFT JOIN (SELECT consumer_id, kind FROM consumers FINAL) AS c ON c.consumer_id = p.consumer_id
GROUP BY consumer_kind
ORDER BY calls DESC, consumer_kind
"""

BY_CHANNEL = FILTERED_DAILY + "SELECT f.channel AS channel," + MEASURES + """
FROM filtered AS f
GROUP BY f.channel
ORDER BY calls DESC, channel
"""

BY_SCENARIO = FILTERED_DAILY + "SELECT f.scenario AS scenario," + MEASURES + """,
    uniqExact(f.dataset_id) AS datasets
FROM filtered AS f
GROUP BY f.scenario
ORDER BY calls DESC, scenario
"""

TOP_FIELDS = FILTERED_FIELDS + """
SELECT f.field                                          AS field,
       sum(f.calls)                                     AS calls,
       uniqExact(f.dataset_id)                          AS datasets,
       uniqExactIf(f.consumer_id, f.consumer_id != '')  AS consumers,
       sum(f.calls) / sum(sum(f.calls)) OVER ()         AS share
FROM filtered AS f
GROUP BY f.field
ORDER BY calls DESC, field
LIMIT {limit:UInt32}
"""

FIELD_HEATMAP = FILTERED_FIELDS + """,
top_datasets AS (
    SELECT dataset_id FROM filtered GROUP BY dataset_id
    ORDER BY sum(calls) DESC, dataset_id LIMIT {max_datasets:UInt32}
)
SELECT f.dataset_id AS dataset_id, any(d.name) AS dataset_name, f.field AS field, sum(f.calls) AS calls
FROM filtered AS f
LEFT JOIN (SELECT dataset_id, name FROM datasets FINAL) AS d ON d.dataset_id = f.dataset_id
WHERE f.dataset_id IN (SELECT dataset_id FROM top_datasets)
GROUP BY f.dataset_id, f.field
ORDER BY dataset_id, calls DESC, field
LIMIT {max_fields:UInt32} BY dataset_id
"""

PLATFORM_OPERATION = FILTERED_DAILY + """
SELECT f.day                                              AS day,
       sum(f.calls)                                       AS calls,
       sum(f.errors)                                      AS errors,
       sum(f.server_errors)                               AS server_errors,
       quantilesTDigestMerge(0.5, 0.95, 0.99)(f.latency)  AS latency
FROM filtered AS f
GROUP BY f.day
ORDER BY day
"""


def _frame(client: Client, sql: str, params: dict) -> pl.DataFrame:
    return pl.from_arrow(client.query_arrow(sql, parameters=params))


def _fill_days(frame: pl.DataFrame, filters: ReportFilters, zero: list[str]) -> pl.DataFrame:
    """One row per day of the range: days without traffic show zeros, not gaps."""
    days = pl.DataFrame({"day": pl.date_range(filters.date_from, filters.date_to, "1d", eager=True)})
    filled = days.join(frame, on="day", how="left")
    return filled.with_columns(pl.col(zero).fill_null(0))


def calls_by_day(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Calls, downloads, rows and distinct consumers per Shanghai day, every day of the range."""
    return _fill_days(_frame(client, CALLS_BY_DAY, filters.as_params()), filters, MEASURE_COLUMNS)


def by_agency(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage of each agency's datasets."""
    return _frame(client, BY_AGENCY, filters.as_params())


def by_domain(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per dataset domain (领域)."""
    return _frame(client, BY_DOMAIN, filters.as_params())


def by_dataset(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per dataset, with its name, agency and domain."""
    return _frame(client, BY_DATASET, filters.as_params())


def by_consumer(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per consumer; anonymous traffic is one row with consumer_id '' and kind 'anonymous'."""
    return _frame(client, BY_CONSUMER, filters.as_params())


def by_consumer_kind(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per consumer kind: person, company, organisation, anonymous."""
    return _frame(client, BY_CONSUMER_KIND, filters.as_params())


def by_channel(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per channel (api, download)."""
    return _frame(client, BY_CHANNEL, filters.as_params())


def by_scenario(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per declared application scenario ('' = none declared)."""
    return _frame(client, BY_SCENARIO, filters.as_params())


def top_fields(client: Client, filters: ReportFilters, limit: int = 20) -> pl.DataFrame:
    """The most requested fields ('*' counts requests for all fields) with their share of field requests."""
    return _frame(client, TOP_FIELDS, {**filters.as_params(), "limit": limit})


def field_heatmap(client: Client, filters: ReportFilters, max_datasets: int = 15,
                  max_fields: int = 20) -> pl.DataFrame:
    """Long form (dataset_id, dataset_name, field, calls) for the most used datasets and their fields."""
    params = {**filters.as_params(), "max_datasets": max_datasets, "max_fields": max_fields}
    return _frame(client, FIELD_HEATMAP, params)


def platform_operation(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Per day: latency p50/p95/p99 (ms), error rate (4xx+5xx) and availability (share of non-5xx)."""
    frame = _frame(client, PLATFORM_OPERATION, filters.as_params())
    frame = frame.with_columns(
        pl.col("latency").list.get(0).alias("latency_p50"),
        pl.col("latency").list.get(1).alias("latency_p95"),
        pl.col("latency").list.get(2).alias("latency_p99"),
        (pl.col("errors") / pl.col("calls")).alias("error_rate"),
        (1 - pl.col("server_errors") / pl.col("calls")).alias("availability"),
    ).drop("latency")
    return _fill_days(frame, filters, ["calls", "errors", "server_errors"])


# ---------------------------------------------------------------- 第二十九条 usage report draft

CONSUMER = """
SELECT consumer_id, name, kind, credit_code FROM consumers FINAL WHERE consumer_id = {consumer_id:String}
"""

CONSUMER_DATASETS = """
SELECT u.dataset_id AS dataset_id, any(d.name) AS dataset_name, any(d.agency_id) AS agency_id,
       any(a.name) AS agency_name,
       sum(u.calls) AS calls, sumIf(u.calls, u.channel = 'api') AS api_calls,
       sumIf(u.calls, u.channel = 'download') AS downloads, sum(u.rows) AS rows, sum(u.errors) AS errors,
       uniqExact(u.day) AS days_active, min(u.day) AS first_day, max(u.day) AS last_day
FROM usage_daily AS u
LEFT JOIN (SELECT dataset_id, name, agency_id FROM datasets FINAL) AS d ON d.dataset_id = u.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS a ON a.agency_id = d.agency_id
WHERE u.consumer_id = {consumer_id:String} AND u.day BETWEEN {date_from:Date} AND {date_to:Date}
GROUP BY dataset_id
ORDER BY calls DESC, dataset_id
"""

CONSUMER_DAYS = """
SELECT uniqExact(day) AS days_active FROM usage_daily
WHERE consumer_id = {consumer_id:String} AND day BETWEEN {date_from:Date} AND {date_to:Date}
"""

CONSUMER_SCENARIOS = """
SELECT dataset_id, scenario, sum(u.calls) AS calls FROM usage_daily AS u
WHERE consumer_id = {consumer_id:String} AND day BETWEEN {date_from:Date} AND {date_to:Date}
GROUP BY dataset_id, scenario
ORDER BY dataset_id, calls DESC, scenario
"""

CONSUMER_FIELDS = """
SELECT dataset_id, field, sum(u.calls) AS calls FROM field_usage_daily AS u
WHERE consumer_id = {consumer_id:String} AND day BETWEEN {date_from:Date} AND {date_to:Date}
GROUP BY dataset_id, field
ORDER BY dataset_id, calls DESC, field
"""

CONSUMER_AGREEMENTS = """
SELECT agreement_id, dataset_id, scenarios, allowed_fields, valid_from, valid_to,
       daily_call_quota, daily_row_quota
FROM agreements FINAL
WHERE consumer_id = {consumer_id:String} AND valid_from <= {date_to:Date} AND valid_to >= {date_from:Date}
ORDER BY dataset_id, valid_from
"""

CONSUMER_FILED_REPORTS = """
SELECT report_id, agreement_id, dataset_id, period_start, period_end, due_date, filed_at,
       calls_reported, fields_reported
FROM usage_reports FINAL
WHERE consumer_id = {consumer_id:String} AND period_start <= {date_to:Date} AND period_end >= {date_from:Date}
ORDER BY dataset_id, period_start
"""

MAIN_FIELDS = 5


def _dicts(client: Client, sql: str, params: dict) -> list[dict]:
    result = client.query(sql, parameters=params)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def consumer_usage_report(client: Client, consumer_id: str, date_from: date, date_to: date) -> dict:
    """The 第二十九条 usage-feedback draft of one consumer for a period, filled from the logs.

    Per dataset: its agreement(s), calls (API and downloads), rows, days active, the
    scenarios declared, the main fields used (top 5 with their share of the dataset's
    requests) and any report already filed for an overlapping period (to compare).
    """
    if not consumer_id:
        raise UserError("A usage report needs a registered consumer; anonymous use has no report.")
    if date_from > date_to:
        raise UserError("The report period starts after it ends.")
    params = {"consumer_id": consumer_id, "date_from": date_from, "date_to": date_to}
    found = _dicts(client, CONSUMER, params)
    if not found:
        raise UserError(f"No consumer {consumer_id} in the reference data.")
    datasets = _dicts(client, CONSUMER_DATASETS, params)
    scenarios = _group(_dicts(client, CONSUMER_SCENARIOS, params))
    fields = _group(_dicts(client, CONSUMER_FIELDS, params))
    agreements = _group(_dicts(client, CONSUMER_AGREEMENTS, params))
    filed = _group(_dicts(client, CONSUMER_FILED_REPORTS, params))
    for ds in datasets:
        key = ds["dataset_id"]
        requested = sum(f["calls"] for f in fields.get(key, []))
        ds["scenarios"] = [{"scenario": s["scenario"], "calls": s["calls"]} for s in scenarios.get(key, [])]
        ds["main_fields"] = [
            {"field": f["field"], "calls": f["calls"], "share": f["calls"] / max(requested, 1)}
            for f in fields.get(key, [])[:MAIN_FIELDS]]
        ds["agreements"] = agreements.get(key, [])
        ds["filed_reports"] = filed.get(key, [])
    totals = {m: sum(ds[m] for ds in datasets) for m in ("calls", "api_calls", "downloads", "rows", "errors")}
    totals["datasets"] = len(datasets)
    totals["days_active"] = _dicts(client, CONSUMER_DAYS, params)[0]["days_active"]
    return {"consumer": found[0], "period": {"from": date_from, "to": date_to}, "totals": totals,
            "datasets": datasets}


def _group(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["dataset_id"], []).append(row)
    return grouped
