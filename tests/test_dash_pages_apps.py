"""AppTests of the analytics pages: each page, each role that may open it, on real data.

One database is built once for this module and the pages run against it through
the real session helpers (the signed-in user is put in session state, as the
shell's sign-in does).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from page_apps import page_app
from streamlit.testing.v1 import AppTest

from dashboard.auth import User
from dashboard.session import USER_KEY, today
from detectors import store, violations
from detectors.base import Alert
from detectors.violations import list_violations
from odwatch.settings import Settings, get_settings
from reports.quality import scan_catalog
from warehouse import connect

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


@pytest.fixture(scope="module")
def platform():
    # The data directory is the session's (conftest sets ODWATCH_DATA_DIR); the database is this module's.
    settings = Settings(clickhouse_database=f"t_pages_{uuid.uuid4().hex[:8]}")
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
    app = page_app(page, timeout=90)
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


QUALITY_TABS = {"agencies": "各开放主体", "datasets": "各数据集与失分原因", "overdue": "逾期未更新",
                "trend": "得分趋势"}


@pytest.mark.parametrize("role", ["official", "agency", "admin"])
def test_quality_page(platform, role):
    app = run_page("quality", role, state={"quality_tab": QUALITY_TABS["datasets"]})
    assert app.title[0].value == "数据质量"
    scored = next(m for m in app.metric if m.label == "已评分数据集")
    assert scored.value == ("2" if role == "agency" else "3")
    by_dataset = next(f for f in _frames(app) if "数据集编号" in f.columns)
    assert set(by_dataset["数据集编号"]) == ({"d1", "d2"} if role == "agency" else {"d1", "d2", "d3"})
    # The causes of the chosen dataset's score are listed, each with its points.
    losses = next(f for f in _frames(app) if "原因" in f.columns)
    assert len(losses) > 0 and (losses["得分"] > 0).any()


def test_quality_page_opens_on_the_agencies_and_draws_only_that_tab(platform):
    app = run_page("quality", "official")
    assert [tab.label for tab in app.tabs] == list(QUALITY_TABS.values())
    by_agency = next(f for f in _frames(app) if "开放主体" in f.columns)
    assert set(by_agency["开放主体"]) == {"市交通委", "市卫健委"}
    assert {"完整性", "元数据", "开放格式"} <= set(by_agency.columns)     # the dimension breakdown
    assert len(app.get("plotly_chart")) == 1
    # The other tabs' tables are not drawn until opened.
    assert not any("失分项" in f.columns or "逾期天数" in f.columns for f in _frames(app))


def test_quality_search_narrows_the_datasets_and_the_choice_of_causes(platform):
    app = run_page("quality", "official", state={"quality_tab": QUALITY_TABS["datasets"],
                                                 "quality_search": "医院"})
    by_dataset = next(f for f in _frames(app) if "数据集编号" in f.columns)
    assert list(by_dataset["数据集编号"]) == ["d3"]
    chooser = app.selectbox(key="quality_dataset")
    assert chooser.value == "d3" and len(chooser.options) == 1
    assert any("原因" in f.columns for f in _frames(app))
    # An agency user's search never reaches another agency's dataset.
    scoped = run_page("quality", "agency", state={"quality_tab": QUALITY_TABS["datasets"],
                                                  "quality_search": "d3"})
    assert "d3" in scoped.info[0].value and "quality_dataset" not in [box.key for box in scoped.selectbox]


def test_quality_overdue_and_trend_tabs(platform):
    overdue = run_page("quality", "official", state={"quality_tab": QUALITY_TABS["overdue"]})
    assert overdue.subheader[0].value == "逾期未更新的数据集"
    trend = run_page("quality", "official", state={"quality_tab": QUALITY_TABS["trend"]})
    assert len(trend.get("plotly_chart")) == 1
    assert not any("开放主体" in f.columns for f in _frames(trend))


@pytest.mark.parametrize("role", ["official", "security", "agency", "admin"])
def test_overview_page(platform, role):
    app = run_page("overview", role)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["开放数据集"] == ("2" if role == "agency" else "3")
    # Open alerts: the agency sees only those on its own datasets (d1, d2).
    expected_alerts = {"agency": 2}.get(role)
    if expected_alerts is not None:
        assert metrics["未处理告警"] == str(expected_alerts)
    # One open alert of each severity; the agency's datasets (d1, d2) have the high and the medium.
    by_severity = {s: metrics[f"未处理告警 · {s}"] for s in ("严重", "高", "中", "低")}
    assert by_severity == ({"严重": "0", "高": "1", "中": "1", "低": "0"} if role == "agency"
                           else {"严重": "1", "高": "1", "中": "1", "低": "1"})
    assert int(metrics["区间接口调用"].replace(",", "")) > 0
    top = next(f for f in _frames(app) if "数据集编号" in f.columns)
    assert set(top["数据集编号"]) <= ({"d1", "d2"} if role == "agency" else {"d1", "d2", "d3"})
    assert len(top) > 0
    assert set(top["开放类型"]) <= {"无条件开放", "有条件开放", "非开放"}      # labels, not stored codes


def test_overview_page_in_english(platform):
    app = run_page("overview", "official", lang="en")
    assert app.title[0].value == "Overview"
    assert "Open datasets" in {m.label for m in app.metric}


@pytest.mark.parametrize("role", ["security", "admin"])
def test_triage_page_shows_queue_and_evidence(platform, role):
    app = run_page("triage", role)
    queue = app.dataframe[0].value
    # Worst severity first: the critical probe leads the queue.
    assert queue["告警"].iloc[0] == "匿名地址 203.0.113.9试探性访问：90% 的调用被拒绝，涉及 12 个无权限数据集"
    assert len(queue) == 4
    app.selectbox(key="triage_detail").set_value(ALERTS[0].alert_id).run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["末页"] == "400" and metrics["缺页数"] == "2"
    ips = next(f for f in _frames(app) if "地址" in f.columns)
    assert "10.1.2.3" in set(ips["地址"])            # security and admin see full addresses


def test_triage_page_filters_narrow_the_queue(platform):
    app = run_page("triage", "security")
    app.selectbox(key="triage_category").set_value("fields_outside_agreement").run()
    queue = app.dataframe[0].value
    # Names, not ids, in the title: the consumer's and the dataset's.
    assert list(queue["告警"]) == ["甲数据公司请求数据集「停车场」协议外字段：phone"]
    app.selectbox(key="triage_detail").set_value(ALERTS[1].alert_id).run()
    fields = next(f for f in _frames(app) if "字段" in f.columns)
    assert dict(zip(fields["字段"], fields["协议允许"], strict=True)) == {"phone": False, "line": True}


def test_triage_actions_change_the_stored_state(platform):
    probe, burst = ALERTS[2].alert_id, ALERTS[3].alert_id
    app = run_page("triage", "security")
    # Bulk acknowledge two alerts.
    app.multiselect(key="triage_selected").set_value([probe, burst]).run()
    app.button(key="triage_ack").click().run()
    assert not app.exception
    assert "已确认收到 2 条告警。" in [s.value for s in app.success]
    assert store.get_alert(platform, probe)["status"] == "acknowledged"
    assert store.get_alert(platform, burst)["status"] == "acknowledged"
    # Assign one, then dismiss it with a reason; a dismissal without a reason is refused.
    app.multiselect(key="triage_selected").set_value([burst]).run()
    app.text_input(key="triage_assign_to").input("lee").run()
    app.button(key="triage_assign").click().run()
    assert store.get_alert(platform, burst)["assignee"] == "lee"
    app.multiselect(key="triage_selected").set_value([burst]).run()
    app.button(key="triage_dismiss").click().run()
    assert [w.value for w in app.warning] == ["排除告警须说明理由。"]
    assert store.get_alert(platform, burst)["status"] == "acknowledged"
    app.text_input(key="triage_reason").input("lawful load test announced in advance").run()
    app.button(key="triage_dismiss").click().run()
    dismissed = store.get_alert(platform, burst)
    assert dismissed["status"] == "dismissed"
    assert dismissed["history"][-1]["reason"] == "lawful load test announced in advance"
    # The history on the page shows the actions at once.
    app.selectbox(key="triage_status").set_value("all").run()
    app.selectbox(key="triage_detail").set_value(burst).run()
    history = next(f for f in _frames(app) if "操作人" in f.columns)
    assert list(history["操作"]) == ["确认收到", "指派", "排除"]
    assert set(history["操作人"]) == {"sam"}


def test_triage_confirm_records_a_violation(platform):
    probe = ALERTS[2].alert_id
    app = run_page("triage", "security")
    app.multiselect(key="triage_selected").set_value([probe]).run()
    app.text_area(key="triage_description").input("SQL injection attempts").run()
    app.button(key="triage_confirm").click().run()
    assert not app.exception
    confirmed = store.get_alert(platform, probe)
    assert confirmed["status"] == "confirmed" and confirmed["violation_id"]
    assert any(confirmed["violation_id"] in s.value for s in app.success)
    recorded = {v["violation_id"]: v for v in list_violations(platform)}[confirmed["violation_id"]]
    assert recorded["category"] == 2                     # probing suggests 第三十一条(二)
    assert recorded["description"].endswith("SQL injection attempts")
    assert recorded["alert_ids"] == [probe]


@pytest.mark.parametrize("role", ["official", "security", "agency", "admin"])
def test_violations_page_registry_is_scoped(platform, role):
    app = run_page("violations", role)
    registry = next(f for f in _frames(app) if "记录编号" in f.columns)
    ids = set(registry["记录编号"])
    assert VIOLATIONS["company"] in ids
    assert (VIOLATIONS["person"] in ids) is (role != "agency")
    assert "甲数据公司" in set(registry["数据利用主体"])          # organisations are named in full
    deciding = role in ("security", "admin")
    assert any(t.label == "在公示页面公开" for t in app.toggle) is deciding


def test_violations_page_publicity_and_measure(platform):
    person = VIOLATIONS["person"]
    app = run_page("violations", "security")
    app.selectbox(key="violations_record").set_value(person).run()
    app.toggle(key=f"violations_public_{person}").set_value(True).run()
    assert not app.exception
    assert "已设为公示。" in [s.value for s in app.success]
    app.number_input(key="violations_measure_days").set_value(30)
    app.radio(key="violations_measure_action").set_value("close")
    app.button(key="FormSubmitter:violations_measure-记录措施").click().run()
    assert not app.exception
    record = {v["violation_id"]: v for v in list_violations(platform)}[person]
    assert record["publicized"] == 1
    assert [(m["action"], m["decided_by"]) for m in record["measures"]] == [("close", "sam")]
    ends, starts = record["measures"][0]["ends_at"], record["measures"][0]["starts_at"]
    assert (ends - starts).days == 30
    registry = next(f for f in _frames(app) if "记录编号" in f.columns)
    row = registry[registry["记录编号"] == person].iloc[0]
    assert bool(row["已公示"]) and row["措施"].startswith("关闭数据获取权限")


@pytest.mark.parametrize("role", ["official", "security", "agency", "admin"])
def test_usage_page(platform, role):
    app = run_page("usage", role)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["调用次数"] == "40"                    # every event of the hand-built log is in range
    assert metrics["下载"] == "8"
    assert metrics["利用主体数"] == "1"                   # c1; the other calls are anonymous
    has_agency_level = any("开放主体编号" in f.columns and "数据集编号" not in f.columns
                           for f in _frames(app))
    assert has_agency_level is (role != "agency")       # an agency user starts at its own datasets
    if role != "agency":                                # the platform's roles open one agency first
        assert not any("领域" in f.columns for f in _frames(app))
        app.selectbox(key="usage_drill_agency").set_value("a1").run()
    datasets = next(f for f in _frames(app) if "数据集编号" in f.columns and "领域" in f.columns)
    assert set(datasets["数据集编号"]) == {"d1", "d2"}
    offers_draft = any(s.key == "usage_draft_consumer" for s in app.selectbox)
    assert offers_draft is (role != "agency")


def test_usage_drill_down_narrows_each_level(platform):
    app = run_page("usage", "official")
    app.selectbox(key="usage_drill_agency").set_value("a1").run()
    app.selectbox(key="usage_drill_dataset").set_value("d2").run()
    assert not app.exception
    consumers = next(f for f in _frames(app) if "利用主体编号" in f.columns and "主体类型" in f.columns)
    # d2 gets the even-numbered events: 7 of the 20 are anonymous (every third event), 13 are c1.
    assert dict(zip(consumers["利用主体编号"], consumers["调用次数"], strict=True)) == {"c1": 13, "": 7}


@pytest.mark.parametrize("role", ["official", "admin"])
def test_evaluation_page(platform, role):
    app = run_page("evaluation", role)
    assert app.title[0].value == "年度评估"
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["参评开放主体"] == "2"
    ranking = next(f for f in _frames(app) if "名次" in f.columns)
    assert sorted(ranking["名次"]) == [1, 2]
    assert set(ranking["等级"]) <= {"优秀", "良好", "合格", "不合格"}
    # The basis of every score of the chosen agency, and the weights in force (they sum to 100).
    inputs = next(f for f in _frames(app) if "依据" in f.columns and "评分规则" in f.columns)
    assert len(inputs) == 7 and inputs["依据"].str.len().min() > 0
    weights = next(f for f in _frames(app) if list(f.columns) == ["维度", "分值", "评分规则"])
    assert weights["分值"].sum() == 100


def test_evaluation_page_year_picker_and_refusal(platform):
    app = run_page("evaluation", "official", lang="en")
    app.selectbox(key="evaluation_year").set_value(today().year - 1).run()
    assert not app.exception
    assert app.title[0].value == "Annual evaluation"
    refused = page_app("evaluation", timeout=90)
    refused.session_state[USER_KEY] = USERS["security"]
    refused.run()
    assert [e.value for e in refused.error] and not refused.dataframe   # security staff may not open it


def test_usage_sections_load_their_own_tables(platform):
    app = run_page("usage", "official")
    assert not any("响应时间 P95（毫秒）" in f.columns for f in _frames(app))     # not loaded until shown
    app.radio(key="usage_section").set_value("operation").run()
    operation = next(f for f in _frames(app) if "响应时间 P95（毫秒）" in f.columns)
    assert len(operation) == 30 and operation["调用次数"].sum() == 40
    app.radio(key="usage_section").set_value("fields").run()
    fields = next(f for f in _frames(app) if "字段" in f.columns)
    assert list(fields["字段"]) == ["*"] and fields["调用次数"].sum() == 40
    app.radio(key="usage_section").set_value("mix").run()
    assert not app.exception
    assert any("应用场景" in f.columns for f in _frames(app))
