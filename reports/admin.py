"""What the Administration page shows: ingest batches and their rejects, detector runs, the audit tail."""

from __future__ import annotations

import polars as pl
from clickhouse_connect.driver.client import Client

RECENT_BATCHES = """
SELECT batch_id, source, chunk_index, format, status, started_at, finished_at,
       lines_read, inserted, duplicates, rejected
FROM ingest_batches FINAL
ORDER BY started_at DESC, chunk_index DESC
LIMIT {limit:UInt32}
"""

REJECT_REASONS = """
SELECT reason, count() AS rows, uniqExact(batch_id) AS batches, max(rejected_at) AS last_seen
FROM rejected_rows FINAL
GROUP BY reason
ORDER BY rows DESC, reason
"""

REJECTED_ROWS = """
SELECT batch_id, source, line_no, reason, substring(raw, 1, 300) AS raw, rejected_at
FROM rejected_rows FINAL
WHERE ({batch_id:String} = '' OR batch_id = {batch_id:String})
ORDER BY rejected_at DESC, source, line_no
LIMIT {limit:UInt32}
"""

DETECTOR_RUNS = """
SELECT run_id, started_at, finished_at,
       toDateTime64(since, 0, 'Asia/Shanghai') AS since, toDateTime64(until, 0, 'Asia/Shanghai') AS until,
       alerts, summary
FROM detector_runs
ORDER BY started_at DESC
LIMIT {limit:UInt32}
"""

AUDIT_TAIL = """
SELECT seq, at, actor, action, object_type, object_id, detail
FROM audit_log
ORDER BY seq DESC
LIMIT {limit:UInt32}
"""

ALERT_TOTALS = """
SELECT count() AS alerts, max(detected_at) AS last_detected
FROM alerts FINAL
"""


def _frame(client: Client, sql: str, parameters: dict | None = None) -> pl.DataFrame:
    # Via Arrow: column names and types survive even when there are no rows.
    return pl.from_arrow(client.query_arrow(sql, parameters=parameters or {}))


def recent_batches(client: Client, limit: int = 100) -> pl.DataFrame:
    return _frame(client, RECENT_BATCHES, {"limit": limit})


def reject_reasons(client: Client) -> pl.DataFrame:
    return _frame(client, REJECT_REASONS)


def rejected_rows(client: Client, batch_id: str = "", limit: int = 200) -> pl.DataFrame:
    return _frame(client, REJECTED_ROWS, {"batch_id": batch_id, "limit": limit})


def detector_runs(client: Client, limit: int = 20) -> pl.DataFrame:
    return _frame(client, DETECTOR_RUNS, {"limit": limit})


def audit_tail(client: Client, limit: int = 50) -> pl.DataFrame:
    return _frame(client, AUDIT_TAIL, {"limit": limit})


def alert_totals(client: Client) -> dict:
    return next(iter(client.query(ALERT_TOTALS).named_results()))
