"""The triage page (dashboard/pages/triage.py) on the hand-built platform (tests/pages_platform.py): the
queue worst first with names, the evidence of an alert, filters, and the actions that change the stored
state (acknowledge, assign, dismiss with a reason, confirm as a violation)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from page_apps import frames, render
from pages_platform import ALERTS, run_page

from dashboard.auth import User
from detectors import store
from detectors.base import Alert
from detectors.violations import list_violations
from odwatch.clock import SHANGHAI


@pytest.mark.parametrize("role", ["security", "admin"])
def test_triage_page_shows_queue_and_evidence(hand_built_pages, role):
    app = run_page("triage", role)
    queue = app.dataframe[0].value
    # Worst severity first: the critical probe leads the queue.
    assert queue["告警"].iloc[0] == "匿名地址 203.0.113.9试探性访问：90% 的调用被拒绝，涉及 12 个无权限数据集"
    assert len(queue) == 4
    app.selectbox(key="triage_detail").set_value(ALERTS[0].alert_id).run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["末页"] == "400" and metrics["缺页数"] == "2"
    ips = next(f for f in frames(app) if "地址" in f.columns)
    assert "10.1.2.3" in set(ips["地址"])            # security and admin see full addresses


def test_triage_page_filters_narrow_the_queue(hand_built_pages):
    app = run_page("triage", "security")
    app.selectbox(key="triage_category").set_value("fields_outside_agreement").run()
    queue = app.dataframe[0].value
    # Names, not ids, in the title: the consumer's and the dataset's.
    assert list(queue["告警"]) == ["甲数据公司请求数据集「停车场」协议外字段：phone"]
    app.selectbox(key="triage_detail").set_value(ALERTS[1].alert_id).run()
    fields = next(f for f in frames(app) if "字段" in f.columns)
    assert dict(zip(fields["字段"], fields["协议允许"], strict=True)) == {"phone": False, "line": True}


def test_triage_actions_change_the_stored_state(hand_built_pages):
    probe, burst = ALERTS[2].alert_id, ALERTS[3].alert_id
    app = run_page("triage", "security")
    # Bulk acknowledge two alerts.
    app.multiselect(key="triage_selected").set_value([probe, burst]).run()
    app.button(key="triage_ack").click().run()
    assert not app.exception
    assert "已确认收到 2 条告警。" in [s.value for s in app.success]
    assert store.get_alert(hand_built_pages, probe)["status"] == "acknowledged"
    assert store.get_alert(hand_built_pages, burst)["status"] == "acknowledged"
    # Assign one, then dismiss it with a reason; a dismissal without a reason is refused.
    app.multiselect(key="triage_selected").set_value([burst]).run()
    app.text_input(key="triage_assign_to").input("lee").run()
    app.button(key="triage_assign").click().run()
    assert store.get_alert(hand_built_pages, burst)["assignee"] == "lee"
    app.multiselect(key="triage_selected").set_value([burst]).run()
    app.button(key="triage_dismiss").click().run()
    assert [w.value for w in app.warning] == ["排除告警须说明理由。"]
    assert store.get_alert(hand_built_pages, burst)["status"] == "acknowledged"
    app.text_input(key="triage_reason").input("lawful load test announced in advance").run()
    app.button(key="triage_dismiss").click().run()
    dismissed = store.get_alert(hand_built_pages, burst)
    assert dismissed["status"] == "dismissed"
    assert dismissed["history"][-1]["reason"] == "lawful load test announced in advance"
    # The history on the page shows the actions at once.
    app.selectbox(key="triage_status").set_value("all").run()
    app.selectbox(key="triage_detail").set_value(burst).run()
    history = next(f for f in frames(app) if "操作人" in f.columns)
    assert list(history["操作"]) == ["确认收到", "指派", "排除"]
    assert set(history["操作人"]) == {"sam"}


def test_triage_confirm_records_a_violation(hand_built_pages):
    probe = ALERTS[2].alert_id
    app = run_page("triage", "security")
    app.multiselect(key="triage_selected").set_value([probe]).run()
    app.text_area(key="triage_description").input("SQL injection attempts").run()
    app.button(key="triage_confirm").click().run()
    assert not app.exception
    confirmed = store.get_alert(hand_built_pages, probe)
    assert confirmed["status"] == "confirmed" and confirmed["violation_id"]
    assert any(confirmed["violation_id"] in s.value for s in app.success)
    recorded = {v["violation_id"]: v for v in list_violations(hand_built_pages)}[confirmed["violation_id"]]
    assert recorded["category"] == 2                     # probing suggests 第三十一条(二)
    assert recorded["description"].endswith("SQL injection attempts")
    assert recorded["alert_ids"] == [probe]


LINK, IMAGE = "[Re-auth](http://attacker.example/phish)", "![pix](http://attacker.example/x.png)"
LIVE_MARKDOWN = re.compile(r"(?<!\\)\]\(")          # "](" not escaped: a link or an image would be drawn


def test_what_a_caller_sent_shows_as_text_never_as_a_link_or_an_image(app_client):
    """A consumer named like a markdown link, asking for a field named like an image: the alert's
    title on the triage page is escaped markdown, so both show as typed."""
    app_client.insert("consumers", [["c-evil", LINK, "company"]],
                      column_names=["consumer_id", "name", "kind"])
    start = datetime(2026, 11, 24, tzinfo=SHANGHAI)
    store.save_alerts(app_client, [Alert(
        detector_id="agreement.fields_outside_agreement", category="fields_outside_agreement",
        article="第三十一条", severity="high", score=3.0, message="alerts.fields_outside_agreement",
        params={"fields": [IMAGE]}, window_start=start, window_end=start + timedelta(days=1),
        consumer_id="c-evil", dataset_id="D1")])
    [alert] = store.list_alerts(app_client, store.AlertFilters(limit=None))
    page = render("triage", User("sam", "security"), state={"triage_detail": alert["alert_id"]})
    title = next(m.value for m in page.markdown if "attacker" in m.value)
    assert LIVE_MARKDOWN.search(title) is None and "\\!\\[pix\\]" in title
    shown = re.sub(r"\\(.)", r"\1", title).replace("\u200b", "")    # what the reader sees
    assert LINK in shown and IMAGE in shown
