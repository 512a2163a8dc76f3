"""Small hand-built platforms for the DETECT-CORE tests: reference rows and access-log lines.

Rows are plain dicts; missing columns take the defaults below, so each test
states only what matters to it.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from detectors.clock import SHANGHAI
from odwatch.settings import Settings
from warehouse import connect

_ids = itertools.count(1)

DEFAULTS: dict[str, dict[str, Any]] = {
    "access_log": {
        "consumer_id": "", "key_id": "", "dataset_id": "", "channel": "api", "endpoint": "/api/v1/data",
        "method": "GET", "status": 200, "latency_ms": 40, "rows": 10, "bytes": 2000, "fields": [],
        "scenario": "", "client_ip": "10.1.0.1", "user_agent": "client/1.0", "params": "{}",
        "batch_id": "test",
    },
    "datasets": {
        "version": 1, "agency_id": "A1", "name": "", "description": "", "domain": "transport",
        "open_class": "conditional", "format": "api", "fields": "[]", "conditions": "",
        "update_frequency": "daily", "published_at": date(2024, 1, 1),
        "last_updated": datetime(2026, 1, 1, tzinfo=SHANGHAI), "status": "open",
        "updated_at": datetime(2024, 1, 1, tzinfo=SHANGHAI),
    },
    "agreements": {
        "application_id": "", "scenarios": [], "allowed_fields": [], "ip_allowlist": [],
        "daily_call_quota": 0, "daily_row_quota": 0, "valid_from": date(2026, 1, 1),
        "valid_to": date(2026, 12, 31), "signed_at": datetime(2025, 12, 20, tzinfo=SHANGHAI),
        "report_every_days": 90,
    },
    "complaints": {
        "agency_id": "A1", "complainant_kind": "person", "subject": "privacy",
        "received_at": datetime(2026, 1, 1, tzinfo=SHANGHAI), "suspended_at": None, "verified_at": None,
        "resolved_at": None, "outcome": "pending", "description": "",
    },
    "usage_reports": {
        "consumer_id": "", "dataset_id": "", "period_start": date(2025, 10, 1),
        "period_end": date(2025, 12, 31), "filed_at": None, "calls_reported": 0, "fields_reported": [],
    },
    "consumers": {"name": "", "kind": "company", "credit_code": "",
                  "registered_at": datetime(2024, 1, 1, tzinfo=SHANGHAI)},
    "api_keys": {"created_at": datetime(2024, 1, 1, tzinfo=SHANGHAI), "status": "active"},
    "demo_episodes": {"consumer_id": "", "key_id": "", "client_ip": "", "dataset_id": "", "description": ""},
}


def insert(client: Client, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    full = [{**DEFAULTS.get(table, {}), **row} for row in rows]
    if table == "access_log":
        for row in full:
            row.setdefault("event_id", f"e{next(_ids)}")
    columns = list(full[0])
    client.insert(table, [[row[c] for c in columns] for row in full], column_names=columns)


def at(day: date, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


def calls(day: date, n: int, *, start_hour: int = 9, spacing: timedelta = timedelta(minutes=1),
          **fields: Any) -> list[dict[str, Any]]:
    """n access-log rows on one day, one every `spacing` from start_hour."""
    first = at(day, start_hour)
    return [{"ts": first + spacing * i, **fields} for i in range(n)]


def fresh_database() -> tuple[Settings, Client]:
    """A migrated database of its own on the session engine (for module-scoped fixtures)."""
    settings = Settings(clickhouse_database=f"t_{uuid.uuid4().hex[:12]}")
    return settings, connect(settings)
