"""Shared pieces of the malicious-pattern detectors (第三十条).

Every pattern detector reports one alert per entity (and dataset) per Shanghai
day. The alert window is that whole day, whatever the run window was, so an
incremental hourly run and a full run produce the same alert id and the later
one simply replaces the earlier evidence. To keep that evidence whole, a
detector reads every day its run window touches from midnight on.

A detector with a `lookback` receives its run window already widened by it (the
runner hands it `Window(since, until).widened(detector.lookback)`): it reports
on the days from `window.start + lookback` and uses the look-back only for its
baseline, so an incremental run does not recompute old days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from detectors.base import Alert, Window
from odwatch import clock

ARTICLE = "第三十条"

# The names paging goes by: a page number, or an offset with a page size (CKAN and Solr call them
# start and rows, some gateways pageNum and pageSize).
PAGE_NAMES = ("page", "pageNum", "pageNo", "page_no", "pageIndex")
OFFSET_NAMES = ("offset", "start", "skip")
SIZE_NAMES = ("limit", "rows", "page_size", "pageSize", "size", "per_page")

# The fast field scan wants compact JSON, so the one space some writers put after a colon goes first.
_COMPACT = "replaceAll(params, '\": ', '\":')"


def _number(name: str) -> str:
    return f"simpleJSONExtractUInt({_COMPACT}, '{name}')"


def _branches(names: tuple[str, ...]) -> str:
    """multiIf branches: the number under each of `names`, when the parameters hold it."""
    return ", ".join(f"simpleJSONHas({_COMPACT}, '{name}'), {_number(name)}" for name in names)


def _first_present(names: tuple[str, ...]) -> str:
    """SQL: the number under the first of `names` the parameters hold, 0 when none. multiIf evaluates
    lazily, so a call under the first name costs one look, not one per name."""
    return f"multiIf({_branches(names)}, 0)"


# SQL, true for a call whose parameters name a page or an offset: the cheap filter before PAGE_INDEX.
PAGED = "multiSearchAny(params, [{}])".format(
    ", ".join(f"'\"{name}\"'" for name in (*PAGE_NAMES, *OFFSET_NAMES)))

PAGE_SIZE = _first_present(SIZE_NAMES)

# Page index of a paged call, from a page number or from offset // size + 1; 0 when the call is not
# paged. Spliced into the scraping, sybil and distributed queries where they say {page_index}.
_OFFSET = _first_present(OFFSET_NAMES)
PAGE_INDEX = f"multiIf({_branches(PAGE_NAMES)}, {PAGE_SIZE} > 0, intDiv({_OFFSET}, {PAGE_SIZE}) + 1, 0)"


def with_paging(sql: str) -> str:
    """`sql` with its {paged}, {page_index} and {page_size} spliced in."""
    return sql.replace("{paged}", PAGED).replace("{page_index}", PAGE_INDEX).replace("{page_size}", PAGE_SIZE)

MINUTE_SERIES = """
SELECT {key_expr} AS key, toStartOfMinute(ts) AS minute, count() AS calls
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND {key_expr} IN {keys:Array(Tuple({key_types}))}
GROUP BY key, minute
ORDER BY key, minute
"""
# When the flagged datasets are known, reading only them uses the table's first sort key.
IN_DATASETS = "AND dataset_id IN {datasets:Array(String)}\nGROUP BY key, minute"


def read_range(window: Window, lookback: timedelta = timedelta(0)) -> tuple[datetime, datetime]:
    """The days to report on: from the midnight of the first day after the look-back to the window's end."""
    start = clock.shanghai(window.start + lookback)
    return clock.day_start(start.date()), clock.shanghai(window.end)


def minute_series(
    client: Client, key_expr: str, key_types: str, keys: Sequence[tuple], start: datetime, end: datetime,
    datasets: Iterable[str] | None = None,
) -> dict[tuple, list[list[Any]]]:
    """Calls per minute for each flagged key, as [["YYYY-MM-DD HH:MM", calls], ...] in Shanghai time.

    `key_expr` is a tuple of access_log columns written by the calling module
    (never user input) whose last element is a day or an hour; `keys` are the
    flagged values of that tuple. One scan, over the flagged days only, serves
    every alert of a run.
    """
    if not keys:
        return {}
    sql = MINUTE_SERIES.replace("{key_expr}", key_expr).replace("{key_types}", key_types)
    parameters: dict[str, Any] = {"keys": list(keys)}
    if datasets is not None:
        sql = sql.replace("GROUP BY key, minute", IN_DATASETS)
        parameters["datasets"] = sorted(set(datasets))
    moments = [k[-1] if isinstance(k[-1], datetime) else clock.day_start(k[-1]) for k in keys]
    parameters["start"] = max(start, min(moments))
    parameters["end"] = min(end, max(moments) + timedelta(days=1))
    result = client.query(sql, parameters=parameters)
    series: dict[tuple, list[list[Any]]] = {}
    for key, minute, calls in result.result_rows:
        series.setdefault(tuple(key), []).append([clock.shanghai(minute).strftime("%Y-%m-%d %H:%M"), calls])
    return series


# An entity is a consumer, or an anonymous address; a consumer's alert may name its one address too.
ENTITY_DAY_KEY = "(consumer_id, if(consumer_id = '', client_ip, ''), toDate(ts))"
ENTITY_DAY_TYPES = "String, String, Date"


def add_entity_day_minutes(client: Client, alerts: Sequence[Alert], start: datetime, end: datetime) -> None:
    """Put each entity-day alert's calls per minute over its day into its evidence (`per_minute`)."""
    keys = [(a.consumer_id, "" if a.consumer_id else a.client_ip, a.window_start.date()) for a in alerts]
    series = minute_series(client, ENTITY_DAY_KEY, ENTITY_DAY_TYPES, keys, start, end)
    for alert, key in zip(alerts, keys, strict=True):
        alert.evidence["per_minute"] = series.get(key, [])


DATASET_SIZES = """
SELECT dataset_id, row_count FROM datasets FINAL WHERE dataset_id IN {dataset_ids:Array(String)}
"""


def dataset_sizes(client: Client, dataset_ids: Iterable[str]) -> dict[str, int]:
    """The catalog's row count of each dataset (a dataset the catalog lacks is absent)."""
    return dict(client.query(DATASET_SIZES, parameters={"dataset_ids": sorted(set(dataset_ids))}).result_rows)


def severity_for(strength: float) -> str:
    """Severity from how far a pattern went past its threshold (1.0 = just crossed)."""
    if strength >= 4:
        return "critical"
    if strength >= 2:
        return "high"
    if strength >= 1.2:
        return "medium"
    return "low"


def page_runs(pages: Sequence[int]) -> tuple[list[list[int]], int]:
    """Consecutive runs of a sorted page list and the number of missing pages between first and last."""
    runs: list[list[int]] = []
    for page in pages:
        if runs and page == runs[-1][1] + 1:
            runs[-1][1] = page
        else:
            runs.append([page, page])
    missing = (pages[-1] - pages[0] + 1 - len(pages)) if pages else 0
    return runs, missing


def gaps_of(runs: list[list[int]], limit: int = 10) -> list[list[int]]:
    """The first gaps [from, to] between consecutive runs, for a reader."""
    return [[a[1] + 1, b[0] - 1] for a, b in zip(runs, runs[1:], strict=False)][:limit]

