"""AppTests: recording a violation from a 举报 with an evidence file on the violations page, the
reporter's contact masked for an official, the offender history panel in the triage view of an
alert ("third violation in 12 months"), and the notification channels on the system page."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta

import pytest
from notify_receivers import HttpReceiver
from page_apps import page_app

from dashboard.auth import User
from dashboard.session import USER_KEY
from detectors import store, violations
from detectors.base import Alert
from odwatch.clock import SHANGHAI, now
from odwatch.settings import Settings, get_settings
from warehouse import connect

PDF = b"%PDF-1.4\n% a screenshot of the marketing message\n"
CODE = "91310000MA1FL0BQ37"
SECURITY, OFFICIAL, ADMIN = User("sam", "security"), User("olivia", "official"), User("adam", "admin")


@pytest.fixture(scope="module")
def receiver():
    http = HttpReceiver().start()
    yield http
    http.stop()


@pytest.fixture(scope="module")
def platform(tmp_path_factory, receiver):
    settings = Settings(clickhouse_database=f"t_vsrc_{uuid.uuid4().hex[:8]}")
    client = connect(settings)
    client.insert("agencies", [["a1", "市交通委", "", "city_bureau"], ["a2", "市卫健委", "", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    client.insert("datasets", [["d1", "a1", "公交线路"], ["d2", "a2", "医院名录"]],
                  column_names=["dataset_id", "agency_id", "name"])
    client.insert("consumers", [["c1", "上海某某科技有限公司", "company", CODE],
                                ["c1b", "上海某某科技有限公司（二号）", "company", CODE]],
                  column_names=["consumer_id", "name", "kind", "credit_code"])
    for consumer, dataset, agency in (("c1", "d1", "a1"), ("c1b", "d2", "a2")):
        violations.record_violation(client, consumer_id=consumer, category=5, actor="sam", dataset_id=dataset,
                                    agency_id=agency, description="earlier violation")
    start = datetime.combine(now().date() - timedelta(days=1), datetime.min.time(), SHANGHAI)
    store.save_alerts(client, [Alert(detector_id="scraping", category="scraping", article="第三十条",
                                     severity="critical", score=9, message="alerts.scraping",
                                     window_start=start, window_end=start + timedelta(days=1),
                                     consumer_id="c1", dataset_id="d1")])
    config = tmp_path_factory.mktemp("config") / "odwatch.toml"
    tables = [f'[[notify.channels]]\nname = "{name}"\nkind = "webhook"\ntarget = "{receiver.url(path)}"\n'
              for name, path in (("duty", "webhook"), ("down", "broken"))]
    config.write_text("".join(tables), encoding="utf-8")
    previous = {k: os.environ.get(k) for k in ("ODWATCH_CLICKHOUSE_DATABASE", "ODWATCH_CONFIG")}
    os.environ["ODWATCH_CLICKHOUSE_DATABASE"] = settings.clickhouse_database
    os.environ["ODWATCH_CONFIG"] = str(config)
    get_settings.cache_clear()
    yield client
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


def run(page: str, user: User, **state):
    app = page_app(page, timeout=120)
    app.session_state[USER_KEY] = user
    app.session_state["lang"] = "zh"
    for key, value in state.items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_security_records_a_report_with_evidence_and_an_official_sees_the_contact_masked(platform):
    app = run("violations", SECURITY)
    app.radio(key="vrec_source").set_value("report")
    app.selectbox(key="vrec_consumer").set_value("c1")
    app.selectbox(key="vrec_dataset").set_value("d1")
    app.selectbox(key="vrec_category").set_value(4)
    app.text_input(key="vrec_reporter").input("李四")
    app.text_input(key="vrec_contact").input("13812345678")
    app.text_input(key="vrec_ref").input("JB-2026-017")
    app.text_area(key="vrec_description").input("利用公交线路数据向乘客推送营销短信")
    app.file_uploader(key="vrec_files").upload("短信截图.pdf", PDF, "application/pdf")
    app.button(key="FormSubmitter:violations_record_form-登记").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert [s.value for s in app.success if "已登记违规记录" in s.value], [w.value for w in app.warning]
    [recorded] = violations.list_violations(platform, source="report")
    assert (recorded["consumer_id"], recorded["reporter_contact"]) == ("c1", "13812345678")
    assert recorded["attachments"] == 1
    registry = next(f.value for f in app.dataframe if "记录编号" in f.value.columns)
    row = registry[registry["记录编号"] == recorded["violation_id"]].iloc[0]
    assert (row["来源"], row["证据材料"]) == ("举报", 1)
    # Security staff open the record: the reporter in full and the evidence to download.
    app.selectbox(key="violations_record").set_value(recorded["violation_id"]).run()
    assert any("13812345678" in m.value for m in app.markdown)
    assert any(b.label == "下载 短信截图.pdf" for b in app.get("download_button"))
    # A wrong file is refused in a sentence, and nothing is recorded.
    app.radio(key="vrec_source").set_value("complaint")
    app.text_area(key="vrec_description").input("投诉")
    app.file_uploader(key="vrec_files").upload("伪装.pdf", b"MZ\x90\x00", "application/pdf")
    app.button(key="FormSubmitter:violations_record_form-登记").click().run()
    assert any("not of an accepted type" in w.value for w in app.warning)
    assert violations.list_violations(platform, source="complaint") == []


def test_the_offender_history_counts_a_companys_accounts_on_the_violations_page(platform):
    app = run("violations", OFFICIAL, violations_offender="c1")
    warning = " ".join(w.value for w in app.warning)
    assert "12 个月内已有" in warning and "第 " in warning
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["12 个月内违规"]) >= 2 and metrics["涉及数据开放主体"] == "2"
    assert any(CODE in c.value for c in app.caption)


def test_the_triage_view_of_an_alert_shows_the_offender_panel(platform):
    app = run("triage", SECURITY)
    texts = " ".join(w.value for w in app.warning)
    assert "上海某某科技有限公司" in texts and "这将是第" in texts
    assert any(i.value.startswith("重复违规规则建议") for i in app.info)
    assert any("12 个月内违规" == m.label for m in app.metric)


def test_the_system_page_shows_a_failing_channel_and_sends_a_test(platform, receiver):
    app = run("admin", ADMIN)
    assert any("尚未配置" in i.value for i in app.info) is False
    app.selectbox(key="admin_notify_channel").set_value("down").run()
    app.button(key="admin_notify_test").click().run()
    assert any(e.value.startswith("测试消息发送失败") and "HTTP 500" in e.value for e in app.error)
    app.run()
    assert any("渠道“down”发送失败" in e.value for e in app.error)
    app.selectbox(key="admin_notify_channel").set_value("duty").run()
    app.button(key="admin_notify_test").click().run()
    assert any(s.value == "测试消息已发送到“duty”。" for s in app.success)
    assert receiver.bodies("webhook")[-1]["kind"] == "test"
