"""The one client factory.

Embedded mode (the default) opens chDB on `<data dir>/chdb`; a ClickHouse server
is selected with `ODWATCH_CLICKHOUSE_URL`. chDB allows one process per data
directory and one data directory per process, so a second process gets
`EngineBusy`, which every command turns into one plain sentence.
"""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from odwatch.settings import Settings, get_settings
from warehouse.migrations import apply_migrations

_LOCK_MARKERS = ("Cannot lock file", "Error initializing EmbeddedServer")
_local = threading.local()
_opened_dirs: set[str] = set()
BUSY_MESSAGE = (
    "The data directory is in use by another odwatch process "
    "(probably `odwatch serve`); stop it or let it do this work."
)


class EngineBusy(RuntimeError):
    """The embedded engine's data directory is held by another process."""


def dsn_for(settings: Settings) -> str:
    if settings.clickhouse_url:
        return settings.clickhouse_url
    return f"chdb://{settings.chdb_dir.resolve()}"


def is_embedded(settings: Settings) -> bool:
    return not settings.clickhouse_url


def engine_is_busy(chdb_dir: Path) -> bool:
    """True when another process holds the embedded engine on this directory.

    The engine flocks `<dir>/status`; probing the same lock first spares the user
    the engine's own error text. A directory this process opened is ours.
    """
    if str(chdb_dir) in _opened_dirs:
        return False
    status = chdb_dir / "status"
    if not status.exists():
        return False
    with open(status, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _open(dsn: str, database: str | None) -> Client:
    embedded_dir = dsn.removeprefix("chdb://") if dsn.startswith("chdb://") else None
    if embedded_dir and engine_is_busy(Path(embedded_dir)):
        raise EngineBusy(BUSY_MESSAGE)
    kwargs = {"dsn": dsn, "tz_mode": "aware"}
    if database:
        kwargs["database"] = database
    try:
        client = clickhouse_connect.get_client(**kwargs)
    except ClickHouseError as exc:
        if any(marker in str(exc) for marker in _LOCK_MARKERS):
            raise EngineBusy(BUSY_MESSAGE) from exc
        raise
    if embedded_dir:
        _opened_dirs.add(embedded_dir)
    return client


def connect(settings: Settings | None = None, *, migrate: bool = True) -> Client:
    """A client on the configured database, created and migrated on first use.

    Clients are cached per thread and per (dsn, database): Streamlit serves each
    session on its own thread and a chDB client is not meant to be shared.
    """
    settings = settings or get_settings()
    if is_embedded(settings):
        settings.chdb_dir.mkdir(parents=True, exist_ok=True)
    key = (dsn_for(settings), settings.clickhouse_database)
    cache = getattr(_local, "clients", None)
    if cache is None:
        cache = _local.clients = {}
    if key not in cache:
        if migrate:
            ensure_schema(settings)
        cache[key] = _open(key[0], settings.clickhouse_database)
    return cache[key]


_migrated: set[tuple[str, str]] = set()
_migrate_lock = threading.Lock()


def ensure_schema(settings: Settings | None = None) -> list[str]:
    """Create the database and apply pending migrations; returns the versions applied."""
    settings = settings or get_settings()
    key = (dsn_for(settings), settings.clickhouse_database)
    with _migrate_lock:
        if key in _migrated:
            return []
        admin = _open(key[0], None)
        on_cluster = f" ON CLUSTER `{settings.clickhouse_cluster}`" if settings.clickhouse_cluster else ""
        admin.command(f"CREATE DATABASE IF NOT EXISTS `{settings.clickhouse_database}`{on_cluster}")
        client = _open(key[0], settings.clickhouse_database)
        applied = apply_migrations(client, settings)
        _migrated.add(key)
        return applied


# Any insert, mutation, merge or drop changes the set of a table's active parts: a new part has a
# new name (block numbers only grow), and the modification time tells a table dropped and created
# again, whose first part names come back, from the one before.
ACTIVE_PARTS = """
SELECT count(), groupBitXor(cityHash64(table, name, modification_time))
FROM system.parts
WHERE database = currentDatabase() AND active
"""


def data_version(client: Client) -> tuple:
    """A value that changes whenever the database's data does: results computed at the same
    version can be reused (warehouse.cache). One look at the engine's list of parts."""
    parts, digest = client.query(ACTIVE_PARTS).result_rows[0]
    return (client.database, parts, digest)
