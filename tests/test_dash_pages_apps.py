"""AppTests of the analytics pages: each page, each role that may open it, on real data.

One database is built once for this module and the pages run against it through
the real session helpers (the signed-in user is put in session state, as the
shell's sign-in does).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import User
from dashboard.session import USER_KEY, today
from odwatch.settings import Settings, get_settings
from reports.quality import scan_catalog
from tests.conftest import SESSION_DATA_DIR
from warehouse import connect

PAGES = Path(__file__).resolve().parent.parent / "dashboard" / "pages"
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


@pytest.fixture(scope="module")
def platform():
    settings = Settings(data_dir=SESSION_DATA_DIR, clickhouse_database=f"t_pages_{uuid.uuid4().hex[:8]}")
    client = connect(settings)
    _hand_built(client)
    scan_catalog(client, settings)
    previous = os.environ.get("ODWATCH_CLICKHOUSE_DATABASE")
    os.environ["ODWATCH_CLICKHOUSE_DATABASE"] = settings.clickhouse_database
    get_settings.cache_clear()
    yield client
    if previous is None:
        os.environ.pop("ODWATCH_CLICKHOUSE_DATABASE", None)
    else:
        os.environ["ODWATCH_CLICKHOUSE_DATABASE"] = previous
    get_settings.cache_clear()


def run_page(page: str, role: str, lang: str = "zh", state: dict | None = None) -> AppTest:
    app = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=90)
    app.session_state[USER_KEY] = USERS[role]
    app.session_state["lang"] = lang
    for key, value in (state or {}).items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _texts(app: AppTest) -> str:
    parts = [m.label + " " + m.value for m in app.metric]
    parts += [e.value for e in (*app.title, *app.subheader, *app.caption, *app.markdown, *app.info)]
    return "\n".join(str(p) for p in parts)


def _frames(app: AppTest) -> list:
    return [frame.value for frame in app.dataframe]


@pytest.mark.parametrize("role", ["official", "security", "agency", "admin"])
def test_applications_page(platform, role):
    app = run_page("applications", role)
    assert app.title[0].value == "申请与协议"
    frames = _frames(app)
    ids = {value for frame in frames for column in frame.columns for value in frame[column].astype(str)}
    assert {"p1", "g1", "r1"} <= ids      # overdue review, agreement expiring, report overdue (all a1)
    # The review SLA lists each agency; an agency user sees only its own (scoped in the query).
    assert "市交通委" in ids
    assert ("市卫健委" in ids) is (role != "agency")


@pytest.mark.parametrize("role", ["official", "security", "agency", "admin"])
def test_complaints_page(platform, role):
    app = run_page("complaints", role, lang="en")
    assert app.title[0].value == "Complaints"
    open_metric = next(m for m in app.metric if m.label == "Open")
    assert open_metric.value == "1"
    received = next(m for m in app.metric if m.label == "Complaints received")
    assert received.value == ("1" if role == "agency" else "2")


@pytest.mark.parametrize("role", ["official", "agency", "admin"])
def test_quality_page(platform, role):
    app = run_page("quality", role)
    assert app.title[0].value == "数据质量"
    scored = next(m for m in app.metric if m.label == "已评分数据集")
    assert scored.value == ("2" if role == "agency" else "3")
    by_dataset = next(f for f in _frames(app) if "数据集编号" in f.columns)
    assert set(by_dataset["数据集编号"]) == ({"d1", "d2"} if role == "agency" else {"d1", "d2", "d3"})
    # The causes of the chosen dataset's score are listed, each with its points.
    losses = next(f for f in _frames(app) if "原因" in f.columns)
    assert len(losses) > 0 and (losses["得分"] > 0).any()
