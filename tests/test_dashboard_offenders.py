"""The offender history panel (dashboard/offenders.py): a company's accounts counted as one offender by
their 统一社会信用代码 across agencies, on the violations page and in the triage view of an alert
("third violation in 12 months"), with the repeat-offence rule's proposal."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from conftest import database_in_environment, fresh_database
from page_apps import render

from dashboard.auth import User
from detectors import store, violations
from detectors.base import Alert
from odwatch.clock import SHANGHAI, now

CODE = "91310000MA1FL0BQ37"
SECURITY, OFFICIAL = User("sam", "security"), User("olivia", "official")


@pytest.fixture(scope="module")
def platform():
    settings, client = fresh_database("t_vsrc")
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
    with database_in_environment(settings.clickhouse_database):
        yield client


def run(page: str, user: User, **state):
    return render(page, user, lang="zh", state=state, timeout=120)


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
