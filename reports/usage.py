"""Usage analytics from the pre-aggregated tables (第十六条, 第二十四条, 第二十九条).

Each function returns a polars DataFrame. Sums (calls, rows, bytes, errors) come from
`usage_daily_dataset` (per day, dataset, channel, scenario and consumer kind). Distinct
counts over the date range come from `visitor_presence`: one row per month and (dataset,
channel, scenario, visitor) with the days the visitor was seen, so a 90-day range counts a
few hundred thousand rows. A consumer's own figures and each day's distinct consumers read
the consumer-grain `usage_daily`. Filters on agency and domain select dataset ids from the
small catalog table, so the large tables are never joined row by row.

Measures everywhere: calls (all requests), api_calls, downloads, rows, bytes, errors
(status >= 400), consumers (distinct identified consumers) and anonymous_ips (distinct
client IPs of anonymous requests). Per day, consumers counts each day's distinct consumers;
distinct anonymous IPs are counted over the range only (see `calls_by_day`).

What the usage page shows is kept per version of the warehouse's data (`@cached`,
warehouse.cache): a click that drills down or switches section reruns the page, and only
what it changes is loaded.
"""

from __future__ import annotations

from datetime import date
from string import Template

import polars as pl
from clickhouse_connect.driver.client import Client

from odwatch.errors import UserError
from reports.filters import ReportFilters
from warehouse.cache import cached

# The queries are templates: $traffic, $visitors, $fields and the scopes become the fixed text
# the filters call for (see ReportFilters.conditions); every value stays a query parameter.

# Daily sums by dataset, channel, scenario and consumer kind.
TRAFFIC = Template("""
traffic AS (
    SELECT day, dataset_id, channel, scenario, consumer_kind, consumer_kind = 'anonymous' AS anonymous,
           calls, errors, server_errors, rows, bytes, latency
    FROM usage_daily_dataset
    WHERE day BETWEEN {date_from:Date} AND {date_to:Date}$scope
)""")

# Who was seen on at least one day of the range.
VISITORS = Template("""
visitors AS (
    SELECT dataset_id, channel, scenario, anonymous, visitor
    FROM visitor_presence
    WHERE month BETWEEN toStartOfMonth({date_from:Date}) AND {date_to:Date}
      AND arrayExists(seen -> seen BETWEEN {date_from:Date} AND {date_to:Date}, days)$scope
)""")

# Requested fields per day, dataset, channel and consumer kind.
FIELDS = Template("""
fields AS (
    SELECT day, dataset_id, channel, field, calls
    FROM field_usage_dataset_daily
    WHERE day BETWEEN {date_from:Date} AND {date_to:Date}$scope
)""")

SUMS = """
    sum(t.calls)                            AS calls,
    sumIf(t.calls, t.channel = 'api')       AS api_calls,
    sumIf(t.calls, t.channel = 'download')  AS downloads,
    sum(t.rows)                             AS rows,
    sum(t.bytes)                            AS bytes,
    sum(t.errors)                           AS errors"""
DISTINCTS = """
    uniqExactIf(v.visitor, NOT v.anonymous)  AS consumers,
    uniqExactIf(v.visitor, v.anonymous)      AS anonymous_ips"""
MEASURE_COLUMNS = ["calls", "api_calls", "downloads", "rows", "bytes", "errors", "consumers", "anonymous_ips"]
# uniq keeps every hash below 65,536 values, so for datasets and consumers it is exact
# but for a rare 32-bit hash collision, at a fraction of uniqExact's cost.
DATASETS = ", uniq(t.dataset_id) AS datasets"   # datasets with traffic


def _side_by_side(key: str, column: str, extra_sums: str = "", by_catalog: bool = False) -> str:
    """Sums from `traffic` and distinct counts from `visitors`, each grouped by `key`, joined.

    `column` is a column of both (`channel`), or with `by_catalog` a column of the dataset
    catalog (`agency_id`): then the sums are taken per dataset first, so the catalog join
    touches thousands of rows, and `datasets` counts the datasets with traffic.
    """
    if by_catalog:
        per_dataset = f"SELECT t.dataset_id AS dataset_id, {SUMS} FROM traffic AS t GROUP BY dataset_id"
        sums = f"""
    SELECT c.{column} AS {key}, sum(p.calls) AS calls, sum(p.api_calls) AS api_calls,
           sum(p.downloads) AS downloads, sum(p.rows) AS rows, sum(p.bytes) AS bytes,
           sum(p.errors) AS errors, count() AS datasets
    FROM ({per_dataset}) AS p LEFT JOIN catalog AS c ON c.dataset_id = p.dataset_id
    GROUP BY {key}"""
        distincts = f"""
    SELECT c.{column} AS {key}, {DISTINCTS}
    FROM visitors AS v LEFT JOIN catalog AS c ON c.dataset_id = v.dataset_id
    GROUP BY {key}"""
    else:
        sums = f"SELECT t.{column} AS {key}, {SUMS} {extra_sums} FROM traffic AS t GROUP BY {key}"
        distincts = f"SELECT v.{column} AS {key}, {DISTINCTS} FROM visitors AS v GROUP BY {key}"
    return f"""
WITH $traffic, $visitors,
catalog AS (SELECT dataset_id, agency_id, domain FROM datasets FINAL)
SELECT s.{key} AS {key}, s.* EXCEPT ({key}), v.consumers AS consumers, v.anonymous_ips AS anonymous_ips
FROM ({sums}) AS s
LEFT JOIN ({distincts}) AS v ON v.{key} = s.{key}
ORDER BY calls DESC, {key}
"""


CALLS_BY_DAY = f"""
WITH $traffic
SELECT s.day AS day, s.* EXCEPT (day), c.consumers AS consumers
FROM (SELECT t.day AS day, {SUMS} FROM traffic AS t GROUP BY day) AS s
LEFT JOIN (
    -- Each day's distinct consumers (uniq: see DATASETS).
    SELECT day, uniqIf(consumer_id, consumer_id != '') AS consumers
    FROM usage_daily
    WHERE day BETWEEN {{date_from:Date}} AND {{date_to:Date}}$consumer_scope
    GROUP BY day
) AS c ON c.day = s.day
ORDER BY day
"""

TRAFFIC_BY_DAY = f"""
WITH $traffic
SELECT t.day AS day, {SUMS}
FROM traffic AS t
GROUP BY day
ORDER BY day
"""

RANGE_TOTALS = f"""
WITH $visitors
SELECT {DISTINCTS}
FROM visitors AS v
"""

BY_AGENCY = f"""
SELECT g.agency_id AS agency_id, g.* EXCEPT (agency_id), a.name AS agency_name
FROM ({_side_by_side("agency_id", "agency_id", by_catalog=True)}) AS g
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS a ON a.agency_id = g.agency_id
ORDER BY g.calls DESC, g.agency_id
"""

BY_DOMAIN = _side_by_side("domain", "domain", by_catalog=True)

BY_DATASET = f"""
SELECT g.dataset_id AS dataset_id, g.* EXCEPT (dataset_id), d.name AS dataset_name,
       d.agency_id AS agency_id, a.name AS agency_name, d.domain AS domain, d.open_class AS open_class
FROM ({_side_by_side("dataset_id", "dataset_id")}) AS g
LEFT JOIN (SELECT dataset_id, name, agency_id, domain, open_class FROM datasets FINAL) AS d
    ON d.dataset_id = g.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS a ON a.agency_id = d.agency_id
ORDER BY g.calls DESC, g.dataset_id
"""

BY_CHANNEL = _side_by_side("channel", "channel")

BY_SCENARIO = _side_by_side("scenario", "scenario", DATASETS)

# A consumer's own figures need the consumer-grain table; anonymous use is one row, with
# the range's distinct anonymous IPs.
BY_CONSUMER = """
WITH $visitors
SELECT g.consumer_id AS consumer_id, g.* EXCEPT (consumer_id),
       if(g.consumer_id = '', ips.anonymous_ips, 0) AS anonymous_ips,
       c.name AS consumer_name, if(g.consumer_id = '', 'anonymous', c.kind) AS consumer_kind
FROM (
    SELECT u.consumer_id AS consumer_id,
           sum(u.calls) AS calls, sumIf(u.calls, u.channel = 'api') AS api_calls,
           sumIf(u.calls, u.channel = 'download') AS downloads, sum(u.rows) AS rows, sum(u.bytes) AS bytes,
           sum(u.errors) AS errors, toUInt64(u.consumer_id != '') AS consumers,
           uniqExact(u.dataset_id) AS datasets
    FROM usage_daily AS u
    WHERE day BETWEEN {date_from:Date} AND {date_to:Date}$consumer_scope
    GROUP BY consumer_id
) AS g
CROSS JOIN (SELECT uniqExactIf(visitor, anonymous) AS anonymous_ips FROM visitors) AS ips
LEFT JOIN (SELECT consumer_id, name, kind FROM consumers FINAL) AS c ON c.consumer_id = g.consumer_id
ORDER BY g.calls DESC, g.consumer_id
"""

# A visitor's kind: the consumer's, looked up by the visitor hash; anonymous IPs are 'anonymous'.
BY_CONSUMER_KIND = f"""
WITH $traffic, $visitors,
kinds AS (SELECT sipHash64(consumer_id) AS visitor, kind FROM consumers FINAL)
SELECT s.consumer_kind AS consumer_kind, s.* EXCEPT (consumer_kind),
       d.consumers AS consumers, d.anonymous_ips AS anonymous_ips
FROM (SELECT t.consumer_kind AS consumer_kind, {SUMS} FROM traffic AS t GROUP BY consumer_kind) AS s
LEFT JOIN (
    SELECT if(v.anonymous, 'anonymous', k.kind) AS consumer_kind, {DISTINCTS}
    FROM visitors AS v LEFT JOIN kinds AS k ON k.visitor = v.visitor
    GROUP BY consumer_kind
) AS d ON d.consumer_kind = s.consumer_kind
ORDER BY calls DESC, consumer_kind
"""

# The page's mix section: by consumer kind, channel and scenario in one pass over each
# rollup (GROUPING SETS). grouping(kind, channel, scenario) has a bit set for each column
# left out of the set: 3 = by kind, 5 = by channel, 6 = by scenario.
MIX = f"""
WITH $traffic, $visitors,
kinds AS (SELECT sipHash64(consumer_id) AS visitor, kind FROM consumers FINAL),
sums AS (
    SELECT grouping(t.consumer_kind, t.channel, t.scenario) AS grouped,
           multiIf(grouped = 3, t.consumer_kind, grouped = 5, t.channel, t.scenario) AS value,
           {SUMS}
    FROM traffic AS t
    GROUP BY GROUPING SETS ((t.consumer_kind), (t.channel), (t.scenario))
),
distincts AS (
    SELECT grouping(w.kind, w.channel, w.scenario) AS grouped,
           multiIf(grouped = 3, w.kind, grouped = 5, w.channel, w.scenario) AS value,
           uniqExactIf(w.visitor, NOT w.anonymous) AS consumers,
           uniqExactIf(w.visitor, w.anonymous) AS anonymous_ips,
           uniq(w.dataset_id) AS datasets   -- every call has a visitor: the datasets with traffic
    FROM (SELECT v.dataset_id AS dataset_id, v.channel AS channel, v.scenario AS scenario,
                 v.anonymous AS anonymous, v.visitor AS visitor, if(v.anonymous, 'anonymous', k.kind) AS kind
          FROM visitors AS v LEFT JOIN kinds AS k ON k.visitor = v.visitor) AS w
    GROUP BY GROUPING SETS ((w.kind), (w.channel), (w.scenario))
)
SELECT multiIf(s.grouped = 3, 'consumer_kind', s.grouped = 5, 'channel', 'scenario') AS breakdown,
       s.value AS value, s.* EXCEPT (grouped, value),
       d.consumers AS consumers, d.anonymous_ips AS anonymous_ips, d.datasets AS datasets
FROM sums AS s LEFT JOIN distincts AS d ON d.grouped = s.grouped AND d.value = s.value
ORDER BY breakdown, calls DESC, value
"""

TOP_FIELDS = """
WITH $fields
SELECT f.field                                     AS field,
       sum(f.calls)                                AS calls,
       uniq(f.dataset_id)                          AS datasets,  -- see DATASETS
       sum(f.calls) / sum(sum(f.calls)) OVER ()    AS share
FROM fields AS f
GROUP BY field
ORDER BY calls DESC, field
LIMIT {limit:UInt32}
"""

FIELD_HEATMAP = """
WITH $fields,
top_datasets AS (
    SELECT dataset_id FROM fields GROUP BY dataset_id
    ORDER BY sum(calls) DESC, dataset_id LIMIT {max_datasets:UInt32}
)
SELECT f.dataset_id AS dataset_id, any(d.name) AS dataset_name, f.field AS field, sum(f.calls) AS calls
FROM fields AS f
LEFT JOIN (SELECT dataset_id, name FROM datasets FINAL) AS d ON d.dataset_id = f.dataset_id
WHERE f.dataset_id IN (SELECT dataset_id FROM top_datasets)
GROUP BY f.dataset_id, f.field
ORDER BY dataset_id, calls DESC, field
LIMIT {max_fields:UInt32} BY dataset_id
"""

# The whole platform per day reads operation_daily ($traffic is then that table's rows);
# a filter on datasets or on a registered consumer kind reads the rollup that has them.
PLATFORM_OPERATION = """
WITH $traffic
SELECT t.day                                              AS day,
       sum(t.calls)                                       AS calls,
       sum(t.errors)                                      AS errors,
       sum(t.server_errors)                               AS server_errors,
       quantilesTDigestMerge(0.5, 0.95, 0.99)(t.latency)  AS latency
FROM traffic AS t
GROUP BY day
ORDER BY day
"""
WHOLE_PLATFORM = Template("""
traffic AS (
    SELECT day, calls, errors, server_errors, latency
    FROM operation_daily
    WHERE day BETWEEN {date_from:Date} AND {date_to:Date}$scope
)""")


# The first and last day the gateway log covers, in one year or in all; count() 0: no log at all.
LOG_DAYS = """
SELECT min(day), max(day), count()
FROM usage_daily_dataset
WHERE {year:UInt16} = 0 OR toYear(day) = {year:UInt16}
"""


def log_days(client: Client, year: int = 0) -> tuple[date, date] | None:
    """(first, last) day the gateway log covers (in `year`, when given); None when it covers none."""
    first, last, rows = client.query(LOG_DAYS, parameters={"year": year}).result_rows[0]
    return (first, last) if rows else None


def _sql(template: str, filters: ReportFilters) -> str:
    """The query for these filters: the conditions they need put in place."""
    by_dataset = filters.conditions("dataset")
    return Template(template).substitute(
        traffic=TRAFFIC.substitute(scope=by_dataset), fields=FIELDS.substitute(scope=by_dataset),
        visitors=VISITORS.substitute(scope=filters.conditions("visitor")),
        consumer_scope=filters.conditions("consumer"))


def _frame(client: Client, template: str, filters: ReportFilters, **extra) -> pl.DataFrame:
    sql = _sql(template, filters)
    return pl.from_arrow(client.query_arrow(sql, parameters={**filters.as_params(), **extra}))


def _fill_days(frame: pl.DataFrame, filters: ReportFilters, zero: list[str]) -> pl.DataFrame:
    """One row per day of the range: days without traffic show zeros, not gaps."""
    days = pl.DataFrame({"day": pl.date_range(filters.date_from, filters.date_to, "1d", eager=True)})
    filled = days.join(frame, on="day", how="left")
    return filled.with_columns(pl.col(zero).fill_null(0))


def calls_by_day(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Calls, downloads, rows and distinct consumers per Shanghai day, every day of the range.

    Distinct anonymous IPs are not given per day: counting them day by day means reading
    every anonymous request of the range; `range_totals` has the range's own count.
    """
    day_columns = [c for c in MEASURE_COLUMNS if c != "anonymous_ips"]
    return _fill_days(_frame(client, CALLS_BY_DAY, filters), filters, day_columns)


@cached
def traffic_by_day(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Calls, API calls, downloads, rows, bytes and errors per day, every day of the range
    (`calls_by_day` without the distinct consumers, at a fraction of the cost)."""
    return _fill_days(_frame(client, TRAFFIC_BY_DAY, filters), filters,
                      [c for c in MEASURE_COLUMNS if c not in ("consumers", "anonymous_ips")])


@cached
def range_totals(client: Client, filters: ReportFilters) -> dict[str, int]:
    """Distinct consumers and anonymous IPs over the whole range (not the sum of the days)."""
    result = client.query(_sql(RANGE_TOTALS, filters), parameters=filters.as_params())
    return dict(zip(result.column_names, result.result_rows[0], strict=True))


@cached
def by_agency(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage of each agency's datasets."""
    return _frame(client, BY_AGENCY, filters)


def by_domain(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per dataset domain (领域)."""
    return _frame(client, BY_DOMAIN, filters)


@cached
def by_dataset(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per dataset, with its name, agency and domain."""
    return _frame(client, BY_DATASET, filters)


@cached
def by_consumer(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per consumer; anonymous traffic is one row with consumer_id '' and kind 'anonymous'."""
    return _frame(client, BY_CONSUMER, filters)


def by_consumer_kind(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per consumer kind: person, company, organisation, anonymous."""
    return _frame(client, BY_CONSUMER_KIND, filters)


def by_channel(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per channel (api, download)."""
    return _frame(client, BY_CHANNEL, filters)


def by_scenario(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Usage per declared application scenario ('' = none declared)."""
    return _frame(client, BY_SCENARIO, filters)


@cached
def mix(client: Client, filters: ReportFilters) -> dict[str, pl.DataFrame]:
    """`by_consumer_kind`, `by_channel` and `by_scenario` (each with `datasets` too) from one query,
    keyed 'consumer_kind', 'channel', 'scenario'."""
    frame = _frame(client, MIX, filters)
    return {key: frame.filter(pl.col("breakdown") == key).drop("breakdown").rename({"value": key})
            for key in ("consumer_kind", "channel", "scenario")}


@cached
def top_fields(client: Client, filters: ReportFilters, limit: int = 20) -> pl.DataFrame:
    """The most requested fields ('*' counts requests for all fields), in how many datasets,
    and their share of field requests."""
    return _frame(client, TOP_FIELDS, filters, limit=limit)


@cached
def field_heatmap(client: Client, filters: ReportFilters, max_datasets: int = 15,
                  max_fields: int = 20) -> pl.DataFrame:
    """Long form (dataset_id, dataset_name, field, calls) for the most used datasets and their fields."""
    return _frame(client, FIELD_HEATMAP, filters, max_datasets=max_datasets, max_fields=max_fields)


@cached
def platform_operation(client: Client, filters: ReportFilters) -> pl.DataFrame:
    """Per day: latency p50/p95/p99 (ms), error rate (4xx+5xx) and availability (share of non-5xx)."""
    scoped = filters.agency_id or filters.domain or filters.dataset_id or filters.registered_kind
    if not scoped:
        sql = Template(PLATFORM_OPERATION).substitute(
            traffic=WHOLE_PLATFORM.substitute(scope=filters.conditions("platform")))
        frame = pl.from_arrow(client.query_arrow(sql, parameters=filters.as_params()))
    else:
        frame = _frame(client, PLATFORM_OPERATION, filters)
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
SELECT dataset_id, field, sum(u.calls) AS calls FROM field_usage_channel_daily AS u
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
