"""Shared fixtures.

chDB opens one data directory per process, so the whole test session shares one
directory and each test gets a database of its own: tests stay independent
while using the real embedded engine.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

SESSION_DATA_DIR = Path(tempfile.mkdtemp(prefix="odwatch-tests-"))
os.environ["ODWATCH_DATA_DIR"] = str(SESSION_DATA_DIR)
os.environ.pop("ODWATCH_CLICKHOUSE_URL", None)
os.environ.pop("ODWATCH_CLICKHOUSE_CLUSTER", None)

from odwatch.settings import Settings, get_settings  # noqa: E402
from warehouse import connect  # noqa: E402


def pytest_sessionfinish(session, exitstatus) -> None:
    """The session's engine directory (and the audit key and checkpoints beside it) go with the session:
    a few hundred MB a run that would otherwise pile up in the temporary folder."""
    import shutil

    for path in (SESSION_DATA_DIR, Path(f"{SESSION_DATA_DIR}-audit")):
        shutil.rmtree(path, ignore_errors=True)


def fresh_database(prefix: str = "t") -> tuple[Settings, Client]:
    """A migrated database of its own on the session's engine, for a module's fixtures (the `client`
    fixture gives each test one); its name starts with `prefix`."""
    settings = Settings(data_dir=SESSION_DATA_DIR, clickhouse_database=f"{prefix}_{uuid.uuid4().hex[:12]}")
    return settings, connect(settings)


@pytest.fixture
def settings() -> Settings:
    """Settings on the session's engine with a fresh, empty database."""
    return Settings(data_dir=SESSION_DATA_DIR, clickhouse_database=f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def client(settings):
    """A migrated client on the test's own database."""
    return connect(settings)


@contextmanager
def database_in_environment(database: str, **variables: str) -> Iterator[None]:
    """What reads its settings from the environment (the CLI run in this process, the dashboard's
    pages) on `database`, with any other `variables` set; the environment as it was afterwards."""
    changes = {"ODWATCH_CLICKHOUSE_DATABASE": database, **variables}
    previous = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


@pytest.fixture
def env_client(settings, client):
    """The test's migrated client, its database also the environment's (see database_in_environment)."""
    with database_in_environment(settings.clickhouse_database):
        yield client


@pytest.fixture
def app_client(env_client):
    """env_client holding the reference data the dashboard's shell tests show (page_apps.two_agencies)."""
    from page_apps import two_agencies

    two_agencies(env_client)
    return env_client


@pytest.fixture(scope="module")
def hand_built_pages():
    """The analytics pages' hand-built platform (tests/pages_platform.py), built once for a test module;
    its client."""
    from pages_platform import hand_built_platform

    with hand_built_platform() as client:
        yield client


@pytest.fixture(autouse=True)
def configured_language_after_each_test():
    """A test that switches the language (a CLI --lang, an i18n check) must not leave it switched for
    the next test run in the same worker: script runs and exports inherit this context's language."""
    from odwatch.i18n import configured_language, set_language

    yield
    set_language(configured_language())
