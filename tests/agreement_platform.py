"""A small hand-built platform for the agreement detectors, the runner and the detector commands: a
March fortnight of lawful traffic with one agreement violation planted a day (`build_platform`); and
`insert`, which writes rows of any table for the other detector tests.

Rows are plain dicts; missing columns take the defaults below, so each test
states only what matters to it.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from detectors.base import Window
from odwatch.clock import SHANGHAI

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


# A March fortnight: lawful traffic every day, one planted agreement violation per day.
MARCH = [date(2026, 3, d) for d in range(1, 15)]
WINDOW = Window(datetime(2026, 3, 1, tzinfo=SHANGHAI), datetime(2026, 3, 15, tzinfo=SHANGHAI))
ON_COND = {"consumer_id": "C_LAWFUL", "dataset_id": "D_COND"}
LAWFUL = {"scenario": "traffic_app", "fields": ["road", "speed"], "client_ip": "10.1.2.3"}


def build_platform(client) -> None:
    insert(client, "datasets", [
        {"dataset_id": "D_COND"},
        {"dataset_id": "D_OPEN", "open_class": "unconditional"},
        {"dataset_id": "D_SUSP"},
        {"dataset_id": "D_GONE", "open_class": "unconditional", "status": "open",
         "updated_at": datetime(2024, 1, 1, tzinfo=SHANGHAI)},
        {"dataset_id": "D_GONE", "open_class": "unconditional", "status": "withdrawn",
         "updated_at": datetime(2026, 3, 6, tzinfo=SHANGHAI)},
    ])
    terms = {"dataset_id": "D_COND", "scenarios": ["traffic_app"], "allowed_fields": ["road", "speed"],
             "ip_allowlist": ["10.1.0.0/16", "192.168.7.7", "not-an-ip"], "daily_call_quota": 100,
             "daily_row_quota": 100_000}
    insert(client, "agreements", [
        {"agreement_id": "G_LAWFUL", "consumer_id": "C_LAWFUL", **terms},
        {"agreement_id": "G_HEAVY", "consumer_id": "C_HEAVY", **terms, "daily_call_quota": 2000},
        {"agreement_id": "G_OLD", "consumer_id": "C_RENEWED", **terms,
         "valid_from": date(2025, 1, 1), "valid_to": date(2026, 3, 4)},
        {"agreement_id": "G_NEW", "consumer_id": "C_RENEWED", **terms,
         "valid_from": date(2026, 3, 5), "valid_to": date(2027, 3, 4)},
        {"agreement_id": "G_EXPIRED", "consumer_id": "C_EXPIRED", **terms,
         "valid_from": date(2025, 1, 1), "valid_to": date(2026, 3, 2)},
        {"agreement_id": "G_SUSP", "consumer_id": "C_LAWFUL", "dataset_id": "D_SUSP"},
    ])
    insert(client, "complaints", [
        {"complaint_id": "K1", "dataset_id": "D_SUSP", "suspended_at": at(MARCH[9], 12),
         "resolved_at": at(MARCH[11], 12), "outcome": "restored"},
    ])
    insert(client, "usage_reports", [
        {"report_id": "R_LATE", "agreement_id": "G_LAWFUL", "consumer_id": "C_LAWFUL", "dataset_id": "D_COND",
         "due_date": date(2026, 1, 31)},
        {"report_id": "R_FILED_LATE", "agreement_id": "G_HEAVY", "consumer_id": "C_HEAVY",
         "dataset_id": "D_COND", "due_date": date(2026, 2, 10), "filed_at": at(date(2026, 2, 20))},
        {"report_id": "R_ON_TIME", "agreement_id": "G_RENEWED", "consumer_id": "C_RENEWED",
         "dataset_id": "D_COND", "due_date": date(2026, 2, 10), "filed_at": at(date(2026, 2, 9))},
        {"report_id": "R_NOT_DUE", "agreement_id": "G_LAWFUL", "consumer_id": "C_LAWFUL",
         "dataset_id": "D_COND", "due_date": date(2026, 4, 30)},
    ])
    log = []
    for day in MARCH:
        # Lawful background every day: within quota, fields, scenario and allowlist.
        log += calls(day, 20, consumer_id="C_LAWFUL", key_id="K_LAWFUL", dataset_id="D_COND", **LAWFUL)
        log += calls(day, 5, **ON_COND, **{**LAWFUL, "client_ip": "192.168.7.7"})
        # Heavy but lawful: 15x the others, still under its own quota.
        log += calls(day, 300, consumer_id="C_HEAVY", dataset_id="D_COND", spacing=timedelta(seconds=20),
                     **{**LAWFUL, "client_ip": "10.1.99.4"})
        # Anonymous downloads of unconditional data, and an anonymous refused call on conditional data.
        log += calls(day, 40, dataset_id="D_OPEN", channel="download", client_ip="198.51.100.7", rows=5000)
        log += calls(day, 1, dataset_id="D_COND", client_ip="198.51.100.8", status=401)
        # A renewal: two agreements back to back, so every day is covered.
        log += calls(day, 3, consumer_id="C_RENEWED", dataset_id="D_COND", **LAWFUL)
    # Lawful use of D_SUSP before the suspension; anonymous use of D_GONE before its withdrawal.
    log += calls(MARCH[8], 5, consumer_id="C_LAWFUL", dataset_id="D_SUSP", **LAWFUL)
    log += calls(MARCH[4], 5, dataset_id="D_GONE", client_ip="198.51.100.9")
    # The planted violations.
    log += calls(MARCH[1], 4, consumer_id="C_NOAGR", dataset_id="D_COND", **LAWFUL)
    log += calls(MARCH[2], 1, dataset_id="D_COND", client_ip="203.0.113.50")          # anonymous, got data
    log += calls(MARCH[3], 2, consumer_id="C_EXPIRED", dataset_id="D_COND", **LAWFUL)  # expired 03-02
    log += calls(MARCH[4], 2, **ON_COND, **{**LAWFUL, "fields": ["road", "id_card"]})
    log += calls(MARCH[5], 3, **ON_COND, **{**LAWFUL, "scenario": "resale"})
    log += calls(MARCH[6], 90, consumer_id="C_LAWFUL", dataset_id="D_COND", **LAWFUL)  # 115 > 100
    log += calls(MARCH[7], 2, **ON_COND, **{**LAWFUL, "client_ip": "203.0.113.9"})
    log += calls(MARCH[10], 4, consumer_id="C_LAWFUL", dataset_id="D_SUSP", **LAWFUL)
    log += calls(MARCH[7], 3, dataset_id="D_GONE", client_ip="198.51.100.9")
    insert(client, "access_log", log)
