"""Versioned SQL migrations, applied once each and recorded in `schema_migrations`.

Files are `NNNN_name.sql`. Statements are plain ClickHouse DDL for a single
node; `render` turns them into cluster DDL (ON CLUSTER, Replicated engines,
Distributed tables for those a file marks with `-- distributed: a, b`). An
`INSERT ... SELECT` in a migration backfills a new table from stored data; on a
cluster it runs last, through the Distributed tables. `DROP TABLE|VIEW IF EXISTS name`
drops it on every node (a table with its `_local` twin); `ALTER TABLE` runs on every
node, on the local table of a distributed one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from clickhouse_connect.driver.client import Client

from odwatch.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent

SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     UInt32,
    name        String,
    checksum    String,
    applied_at  DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version
"""

APPLIED_VERSIONS = "SELECT version FROM schema_migrations FINAL"

RECORD_MIGRATION = """
INSERT INTO schema_migrations (version, name, checksum)
VALUES ({version:UInt32}, {name:String}, {checksum:String})
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        version = int(path.name[:4])
        found.append(Migration(version, path.stem[5:], path.read_text(encoding="utf-8")))
    return found


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def _distributed_tables(sql: str) -> list[str]:
    names: list[str] = []
    for match in re.finditer(r"^--\s*distributed:\s*(.+)$", sql, flags=re.MULTILINE):
        names += [n.strip() for n in match.group(1).split(",") if n.strip()]
    return names


_ENGINE = re.compile(r"ENGINE\s*=\s*(Replacing|Aggregating|Summing)?MergeTree(\(([^)]*)\))?")
_CREATE = re.compile(r"CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS (\w+)")
_DROP = re.compile(r"DROP (TABLE|VIEW) IF EXISTS (\w+)$")
_ALTER = re.compile(r"ALTER TABLE (\w+)")


def render(migration: Migration, settings: Settings) -> list[str]:
    """The statements of a migration as they are sent for these settings."""
    ttl = ""
    if settings.access_log_ttl_days > 0:
        ttl = f"TTL toDateTime(ts) + INTERVAL {int(settings.access_log_ttl_days)} DAY"
    sql = migration.sql.replace("{ttl_clause}", ttl)
    cluster = settings.clickhouse_cluster
    distributed = _distributed_tables(sql) if cluster else []
    statements = [s.strip() for s in _strip_comments(sql).split(";") if s.strip()]
    if not cluster:
        return statements
    database = settings.clickhouse_database
    rendered, backfills = [], []
    for statement in statements:
        if statement.startswith("INSERT"):
            # A backfill reads and writes the Distributed tables, so it covers every shard.
            backfills.append(statement)
            continue
        dropped = _DROP.match(statement)
        if dropped:
            # A table may have a local twin on every shard behind its Distributed table.
            kind, name = dropped.groups()
            twins = [name, f"{name}_local"] if kind == "TABLE" else [name]
            rendered += [f"DROP {kind} IF EXISTS {twin} ON CLUSTER `{cluster}`" for twin in twins]
            continue
        for name in distributed:
            statement = re.sub(rf"\b{name}\b", f"{name}_local", statement)
        altered = _ALTER.match(statement)
        if altered:
            rendered.append(_ALTER.sub(rf"ALTER TABLE \1 ON CLUSTER `{cluster}`", statement, 1))
            continue
        table = _CREATE.search(statement).group(2)
        statement = _CREATE.sub(rf"CREATE \1 IF NOT EXISTS \2 ON CLUSTER `{cluster}`", statement, 1)

        def replicated(match: re.Match, table: str = table) -> str:
            kind = match.group(1) or ""
            args = [f"'/clickhouse/tables/{{shard}}/{database}/{table}'", "'{replica}'"]
            if match.group(3):
                args.append(match.group(3))
            return f"ENGINE = Replicated{kind}MergeTree({', '.join(args)})"

        rendered.append(_ENGINE.sub(replicated, statement, 1))
    for name in distributed:
        rendered.append(
            f"CREATE TABLE IF NOT EXISTS {name} ON CLUSTER `{cluster}` AS {name}_local "
            f"ENGINE = Distributed(`{cluster}`, `{database}`, {name}_local, rand())"
        )
    return rendered + backfills


def apply_migrations(client: Client, settings: Settings) -> list[str]:
    """Apply the migrations not yet recorded; safe to call again."""
    client.command(SCHEMA_MIGRATIONS)
    done = {row[0] for row in client.query(APPLIED_VERSIONS).result_rows}
    applied = []
    for migration in available_migrations():
        if migration.version in done:
            continue
        for statement in render(migration, settings):
            client.command(statement)
        client.command(
            RECORD_MIGRATION,
            parameters={
                "version": migration.version,
                "name": migration.name,
                "checksum": migration.checksum,
            },
        )
        applied.append(f"{migration.version:04d}_{migration.name}")
    return applied
