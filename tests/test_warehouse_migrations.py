"""The warehouse's versioned migrations (warehouse/migrations/): every table of the design, applied once
and safely again, the materialized views' Shanghai hours and days, and the DDL for a cluster
(replicated, distributed) or a single node."""

import re

from odwatch.settings import Settings
from warehouse import ensure_schema
from warehouse.migrations import apply_migrations, available_migrations, render

EXPECTED_TABLES = {
    "agencies", "datasets", "consumers", "api_keys", "applications", "agreements",
    "usage_reports", "complaints", "access_log", "usage_hourly", "usage_daily",
    "field_usage_channel_daily", "usage_daily_dataset", "visitor_presence", "field_usage_dataset_daily",
    "operation_daily", "quality_checks", "alerts", "alert_events", "violations",
    "measures", "audit_log", "ingest_batches", "rejected_rows", "schema_migrations",
}


def test_every_table_of_the_design_exists(client):
    tables = {row[0] for row in client.query("SHOW TABLES").result_rows}
    assert EXPECTED_TABLES <= tables


def test_migrations_apply_once_and_rerun_safely(client, settings):
    versions = [m.version for m in available_migrations()]
    assert apply_migrations(client, settings) == []
    recorded = client.query("SELECT version FROM schema_migrations FINAL ORDER BY version")
    assert [r[0] for r in recorded.result_rows] == versions
    assert ensure_schema(settings) == []


def test_materialized_views_pre_aggregate_usage_by_shanghai_hour_and_day(client):
    client.command("""
        INSERT INTO access_log (event_id, ts, consumer_id, dataset_id, channel, status,
                                latency_ms, rows, fields, client_ip)
        VALUES ('e1', '2026-03-01 23:30:00', 'c1', 'd1', 'api', 200, 10, 5, ['a'], '1.1.1.1'),
               ('e2', '2026-03-01 23:50:00', 'c1', 'd1', 'api', 500, 20, 0, [], '1.1.1.2'),
               ('e3', '2026-03-02 00:10:00', 'c1', 'd1', 'api', 200, 30, 7, ['a','b'], '1.1.1.1')
    """)
    daily = client.query("""
        SELECT day, sum(calls), sum(errors), sum(rows) FROM usage_daily
        GROUP BY day ORDER BY day
    """).result_rows
    assert [(str(d), c, e, r) for d, c, e, r in daily] == [
        ("2026-03-01", 2, 1, 5), ("2026-03-02", 1, 0, 7)]
    hours = client.query("""
        SELECT formatDateTime(hour, '%F %H'), sum(calls) FROM usage_hourly
        GROUP BY hour ORDER BY hour
    """).result_rows
    assert hours == [("2026-03-01 23", 2), ("2026-03-02 00", 1)]
    fields = dict(client.query(
        "SELECT field, sum(calls) FROM field_usage_channel_daily GROUP BY field").result_rows)
    assert fields == {"a": 2, "b": 1, "*": 1}


def test_cluster_ddl_is_replicated_and_distributed():
    settings = Settings(clickhouse_cluster="city", clickhouse_database="odwatch")
    statements = [s for m in available_migrations() for s in render(m, settings)]
    creates = [s for s in statements if s.startswith("CREATE TABLE")]
    backfills = [s for s in statements if s.startswith("INSERT")]
    assert all("ON CLUSTER `city`" in s for s in statements if s not in backfills)
    assert backfills and not any("_local" in s for s in backfills)
    assert all("ReplicatedMergeTree" in s or "Replicated" in s or "Distributed" in s
               for s in creates)
    assert any(s.startswith("CREATE TABLE IF NOT EXISTS access_log_local") for s in creates)
    dist = [s for s in creates if "Distributed(" in s]
    assert any(s.startswith("CREATE TABLE IF NOT EXISTS access_log ON CLUSTER") for s in dist)
    assert "'/clickhouse/tables/{shard}/odwatch/access_log_local', '{replica}'" in "\n".join(creates)
    alters = [s for s in statements if s.startswith("ALTER TABLE")]
    altered = [re.match(r"ALTER TABLE (\w+) ON CLUSTER `city`\s", s).group(1) for s in alters]
    # A distributed table is altered through its local twin on every node; another on itself.
    distributed = {re.match(r"CREATE TABLE IF NOT EXISTS (\w+) ", s).group(1) for s in dist}
    assert altered and all(name.endswith("_local") or name not in distributed for name in altered)
    assert "ingest_batches" in altered
    assert any(s.startswith("ALTER TABLE alerts ON CLUSTER `city` ADD COLUMN") for s in alters)
    assert any(s.startswith("ALTER TABLE usage_daily_dataset_local ON CLUSTER") for s in alters)
    assert not any(s.startswith("ALTER TABLE usage_daily_dataset ON CLUSTER") for s in alters)
    assert any(s.startswith("ALTER TABLE audit_log ON CLUSTER `city` ADD COLUMN") for s in alters)
    assert any(re.match(r"ALTER TABLE violations ON CLUSTER `city`\s+ADD COLUMN", s) for s in alters)
    drops = [s for s in statements if s.startswith("DROP TABLE")]
    assert "DROP TABLE IF EXISTS field_usage_daily_local ON CLUSTER `city`" in drops
    views = [s for s in statements if "MATERIALIZED VIEW" in s and "access_log" in s]
    assert views and all("FROM access_log_local" in v and "_local AS" in v for v in views)
    # The catalog history (0800) copies the replicated catalog tables on each node.
    history = [s for s in statements if "MATERIALIZED VIEW" in s and "_history" in s]
    assert len(history) == 2 and all("ON CLUSTER `city` TO" in v for v in history)


def test_single_node_ddl_has_no_cluster_clauses():
    statements = [s for m in available_migrations() for s in render(m, Settings())]
    assert not any("ON CLUSTER" in s or "Replicated" in s or "Distributed" in s for s in statements)
