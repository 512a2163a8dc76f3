"""A small hand-built platform for the AppTests of the analytics pages: two agencies, three datasets,
a company and a natural person, two applications, an agreement, an overdue usage report, two complaints,
forty calls over the last twenty days, four alerts and two violations; scored for quality.

Each page's test file builds it once (the hand_built_pages fixture) and runs its page against it through
the real session helpers (the signed-in user is put in session state, as the shell's sign-in does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import database_in_environment, fresh_database
from page_apps import render
from streamlit.testing.v1 import AppTest

from dashboard.auth import User
from dashboard.session import today
from detectors import store, violations
from detectors.base import Alert
from reports.quality import scan_catalog

SH = ZoneInfo("Asia/Shanghai")
USERS = {
    "official": User("olivia", "official"),
    "security": User("sam", "security"),
    "agency": User("alice", "agency", "a1"),
    "admin": User("adam", "admin"),
}


def _at(days_ago: int, hour: int = 10) -> datetime:
    day = today() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, tzinfo=SH)


def _hand_built(client) -> None:
    client.insert("agencies", [["a1", "市交通委", "Transport", "city_bureau"],
                               ["a2", "市卫健委", "Health", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    client.insert("datasets", [
        ["d1", "a1", "公交线路", "traffic", "unconditional", "open", _at(100)],
        ["d2", "a1", "停车场", "traffic", "conditional", "open", _at(100)],
        ["d3", "a2", "医院名录", "health", "conditional", "open", _at(100)],
    ], column_names=["dataset_id", "agency_id", "name", "domain", "open_class", "status", "last_updated"])
    client.insert("consumers", [["c1", "甲数据公司", "company"], ["c2", "张三丰", "person"]],
                  column_names=["consumer_id", "name", "kind"])
    client.insert("applications", [
        ["p1", "c1", "d2", "a1", "traffic_app", _at(25), _at(24), _at(12), "approved", ""],   # overdue
        ["p2", "c2", "d3", "a2", "research", _at(30), _at(29), _at(27), "rejected", ""],
    ], column_names=["application_id", "consumer_id", "dataset_id", "agency_id", "scenario", "submitted_at",
                     "accepted_at", "decided_at", "decision", "reason"])
    client.insert("agreements", [
        ["g1", "p1", "c1", "d2", ["traffic_app"], ["line"], [], 1000, 100000, _at(20).date(),
         _at(-10).date(), _at(20)],
    ], column_names=["agreement_id", "application_id", "consumer_id", "dataset_id", "scenarios",
                     "allowed_fields", "ip_allowlist", "daily_call_quota", "daily_row_quota", "valid_from",
                     "valid_to", "signed_at"])
    client.insert("usage_reports", [
        ["r1", "g1", "c1", "d2", _at(60).date(), _at(30).date(), _at(15).date(), None, 0, []],
    ], column_names=["report_id", "agreement_id", "consumer_id", "dataset_id", "period_start", "period_end",
                     "due_date", "filed_at", "calls_reported", "fields_reported"])
    client.insert("complaints", [
        ["k1", "d1", "a1", "person", "privacy", _at(10), _at(10, 15), None, None, "pending", "含个人信息"],
        ["k2", "d3", "a2", "company", "trade_secret", _at(25), _at(24), _at(20), _at(19), "restored", ""],
    ], column_names=["complaint_id", "dataset_id", "agency_id", "complainant_kind", "subject", "received_at",
                     "suspended_at", "verified_at", "resolved_at", "outcome", "description"])
    events = []
    for n in range(40):
        events.append([f"e{n}", _at(n % 20, 9 + n % 8), "c1" if n % 3 else "", "d1" if n % 2 else "d2",
                       "download" if n % 5 == 0 else "api", 200, 10])
    client.insert("access_log", events,
                  column_names=["event_id", "ts", "consumer_id", "dataset_id", "channel", "status", "rows"])
    store.save_alerts(client, ALERTS)
    VIOLATIONS["company"] = violations.record_violation(
        client, consumer_id="c1", category=5, actor="sam", dataset_id="d1", agency_id="a1",
        description="fields outside the agreement", severity="medium")
    VIOLATIONS["person"] = violations.record_violation(
        client, consumer_id="c2", category=4, actor="sam", dataset_id="d3", agency_id="a2",
        description="scenario outside the agreement", severity="high")


def _alert(category: str, severity: str, days_ago: int, message: tuple[str, dict], evidence: dict,
           **entity) -> Alert:
    start = _at(days_ago, 0)
    return Alert(detector_id=category, category=category, article="第三十条", severity=severity, score=3.5,
                 message=message[0], params=message[1], window_start=start,
                 window_end=start + timedelta(days=1), evidence=evidence, **entity)


VIOLATIONS: dict[str, str] = {}
ALERTS = [
    _alert("scraping", "high", 3,
           ("alerts.scraping", {"first_page": 1, "last_page": 400, "rows": 40000, "times": 25.0}),
           {"per_minute": [[f"2026-11-24 10:{m:02d}", 30 + m] for m in range(10)], "first_page": 1,
            "last_page": 400, "distinct_pages": 398, "longest_run": 250, "missing_pages": 2,
            "gaps": [[251, 252]], "client_ips": ["10.1.2.3"]}, consumer_id="c1", dataset_id="d1"),
    _alert("fields_outside_agreement", "medium", 5,
           ("alerts.fields_outside_agreement", {"fields": ["phone"]}),
           {"fields_outside_agreement": {"phone": 12}, "allowed_fields": ["line"],
            "calls_by_hour": {"09": 5, "10": 7}, "client_ips": ["10.9.8.7"]},
           consumer_id="c1", dataset_id="d2"),
    _alert("probing", "critical", 2, ("alerts.probing", {"share": 0.9, "datasets": 12}),
           {"client_ips": ["203.0.113.9"], "datasets_refused": 12},
           client_ip="203.0.113.9", dataset_id="d3"),
    _alert("burst", "low", 8, ("alerts.burst", {"rate": 900, "times": 30, "usual": 30}),
           {"peak_calls_per_hour": 900}, consumer_id="c2",
           dataset_id="d3"),
]


@contextmanager
def hand_built_platform() -> Iterator:
    """The platform in a database of its own, the one the pages read, while the module's tests run."""
    settings, client = fresh_database("t_pages")
    _hand_built(client)
    scan_catalog(client, settings)
    with database_in_environment(settings.clickhouse_database):
        yield client


def run_page(page: str, role: str, lang: str = "zh", state: dict | None = None,
             timeout: float = 90) -> AppTest:
    """The page as the user of `role` (USERS) sees it, in `lang`."""
    return render(page, USERS[role], lang=lang, state=state, timeout=timeout)
