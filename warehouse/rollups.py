"""Rebuilding the rollups that carry each call's consumer kind.

`usage_daily_dataset` and `field_usage_dataset_daily` record the kind the consumers table
gave a consumer when the call was ingested: '' for a consumer not yet in the reference data.
When the consumers reference is loaded, both are rebuilt from the consumer-grain tables
(`usage_daily`, `field_usage_channel_daily`) with today's kinds. Each year is built in a
staging table and swapped in with REPLACE PARTITION, so a page never reads a half-built year.
Log inserts in this process wait for a rebuild (`rollup_writes`): a row stored between the
staging copy and the swap would otherwise be missing from the swapped-in year.
"""

from __future__ import annotations

import threading

from clickhouse_connect.driver.client import Client

KINDS = "(SELECT consumer_id, kind FROM consumers FINAL)"

USAGE_BY_KIND = f"""
SELECT u.day AS day, u.dataset_id AS dataset_id, u.channel AS channel, u.scenario AS scenario,
       if(u.consumer_id = '', 'anonymous', k.kind) AS consumer_kind,
       sum(u.calls), sum(u.errors), sum(u.server_errors), sum(u.rows), sum(u.bytes),
       quantilesTDigestMergeState(0.5, 0.95, 0.99)(u.latency)
FROM usage_daily AS u
LEFT JOIN {KINDS} AS k ON k.consumer_id = u.consumer_id
GROUP BY day, dataset_id, channel, scenario, consumer_kind
"""

FIELDS_BY_KIND = f"""
SELECT f.day AS day, f.dataset_id AS dataset_id, f.channel AS channel,
       if(f.consumer_id = '', 'anonymous', k.kind) AS consumer_kind, f.field AS field, sum(f.calls)
FROM field_usage_channel_daily AS f
LEFT JOIN {KINDS} AS k ON k.consumer_id = f.consumer_id
GROUP BY day, dataset_id, channel, consumer_kind, field
"""

rollup_writes = threading.Lock()

REBUILT = {"usage_daily_dataset": USAGE_BY_KIND, "field_usage_dataset_daily": FIELDS_BY_KIND}

PARTITIONS = """
SELECT DISTINCT partition_id FROM system.parts
WHERE database = currentDatabase() AND table = {table:String} AND active
ORDER BY partition_id
"""


def rebuild_consumer_kinds(client: Client) -> None:
    """Recompute the kind-bearing rollups from the consumer-grain tables with current kinds."""
    with rollup_writes:
        for table, select in REBUILT.items():
            _rebuild(client, table, select)


def _rebuild(client: Client, table: str, select: str) -> None:
    staging = f"{table}_rebuild"
    client.command(f"DROP TABLE IF EXISTS `{staging}`")
    client.command(f"CREATE TABLE `{staging}` AS `{table}`")
    try:
        client.command(f"INSERT INTO `{staging}` {select}")
        for partition in _partitions(client, staging):
            client.command(f"ALTER TABLE `{table}` REPLACE PARTITION ID '{partition}' FROM `{staging}`")
    finally:
        client.command(f"DROP TABLE IF EXISTS `{staging}`")


def _partitions(client: Client, table: str) -> list[str]:
    # Partition ids are the engine's own (years), never user input.
    return [row[0] for row in client.query(PARTITIONS, parameters={"table": table}).result_rows]
