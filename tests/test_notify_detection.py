"""Detection on the demo platform, then notification as `odwatch serve` runs it, with an injectable
clock: one message per new critical alert group, none when detection runs again over the same
windows, an escalation of every group nobody acknowledged by its deadline (but not of one that was
acknowledged), and the next morning's daily digest with the day's figures."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from notify_receivers import HttpReceiver

from demo.platform import build_demo
from detectors import store, triage
from detectors.runner import run_detectors
from odwatch import clock
from odwatch.settings import ChannelSettings, EscalationSettings, NotifySettings, ScheduleSettings, Settings
from reports.notify import outbox
from warehouse import connect

CRITICAL_GROUP_DAYS = """
SELECT count() FROM (
    SELECT group_key, toDate(window_start, 'Asia/Shanghai') AS day,
           max(indexOf(['low', 'medium', 'high', 'critical'], severity)) AS worst
    FROM alerts FINAL
    GROUP BY group_key, day
    HAVING worst = 4
)
"""
OPENED_ON = "SELECT count() FROM alerts FINAL WHERE toDate(window_start, 'Asia/Shanghai') = {day:Date}"


@pytest.fixture(scope="module")
def receiver():
    http = HttpReceiver().start()
    yield http
    http.stop()


@pytest.fixture(scope="module")
def platform(receiver):
    settings = Settings(clickhouse_database=f"t_notify_demo_{uuid.uuid4().hex[:8]}")
    client = connect(settings)
    build_demo(client, settings, scale="small")
    run_detectors(client, settings)
    notify = NotifySettings(
        channels=[ChannelSettings(name="duty", kind="webhook", target=receiver.url("webhook"),
                                  min_severity="critical"),
                  ChannelSettings(name="lead", kind="wecom", target=receiver.url("wecom"),
                                  min_severity="critical")],
        escalation=EscalationSettings(channels=["lead"]),
        schedules=[ScheduleSettings(kind="daily_digest", channels=["duty"], at="08:30")],
        lookback_hours=24 * 400, dashboard_url="https://odwatch.example.gov.cn")
    return client, settings.model_copy(update={"notify": notify})


def kinds(client, kind: str, channel: str) -> int:
    return client.query("SELECT count() FROM notify_outbox FINAL "
                        "WHERE kind = {k:String} AND channel = {c:String}",
                        parameters={"k": kind, "c": channel}).result_rows[0][0]


def test_detection_notification_escalation_and_digest(platform, receiver):
    client, settings = platform
    started = clock.now()
    expected = client.query(CRITICAL_GROUP_DAYS).result_rows[0][0]
    assert expected > 0, "the demo platform has critical alert groups"

    first = outbox.run_notifications(client, settings, started)
    assert first.problems == [] and first.failed == 0
    assert kinds(client, "alert_group", "duty") == kinds(client, "alert_group", "lead") == expected
    duty = [m for m in receiver.bodies("webhook") if m["kind"] == "alert_group"]
    assert len(duty) == expected and {m["data"]["severity"] for m in duty} == {"critical"}
    assert len({(m["data"]["group_key_hash"], m["data"]["day"]) for m in duty}) == expected
    assert all(m["link"].startswith("https://odwatch.example.gov.cn/triage?alert=") for m in duty)

    # Detection runs again over the same windows: the alerts are replaced, nothing is sent again.
    run_detectors(client, settings)
    again = outbox.run_notifications(client, settings, started + timedelta(minutes=5))
    assert (again.new_groups, again.queued, again.sent) == (0, 0, 0)
    assert len([m for m in receiver.bodies("webhook") if m["kind"] == "alert_group"]) == expected

    # Somebody acknowledges one group in time; the others pass their deadline unacknowledged.
    handled = duty[0]["data"]["alert_id"]
    group = store.get_alert(client, handled)["group_key"]
    day = duty[0]["data"]["day"]
    in_group = store.list_alerts(client, store.AlertFilters(group_key=group, limit=None))
    group_alerts = [a["alert_id"] for a in in_group
                    if a["window_start"].date().isoformat() == day]
    triage.acknowledge(client, group_alerts, "sam")
    deadline = outbox.escalation_deadline(started, settings.notify.escalation)
    before = outbox.run_notifications(client, settings, deadline - timedelta(minutes=1))
    assert before.escalated == 0
    late = outbox.run_notifications(client, settings, deadline + timedelta(minutes=1))
    assert late.escalated == expected - 1 and kinds(client, "escalation", "lead") == expected - 1
    escalations = [b for b in receiver.bodies("wecom") if "【升级" in b["markdown"]["content"]]
    assert len(escalations) == expected - 1
    other = next(m["data"]["alert_id"] for m in duty[1:])
    assert store.get_alert(client, other)["history"][-1]["action"] == "escalate"
    assert store.get_alert(client, other)["status"] == "new"              # still waiting for a person
    assert [e["action"] for e in store.get_alert(client, handled)["history"]] == ["acknowledge"]
    assert outbox.run_notifications(client, settings, deadline + timedelta(hours=1)).escalated == 0   # once

    # The next morning's digest: what was opened and acknowledged the day before.
    morning = datetime.combine(started.date() + timedelta(days=1), datetime.min.time(), clock.SHANGHAI)
    digest_run = outbox.run_notifications(client, settings, morning + timedelta(hours=8, minutes=31))
    assert digest_run.scheduled >= 1
    digests = [m for m in receiver.bodies("webhook") if m["kind"] == "daily_digest"
               and m["data"]["day"] == started.date().isoformat()]
    assert len(digests) == 1
    figures = digests[0]["data"]
    assert figures["opened"] == client.query(OPENED_ON, parameters={"day": started.date()}).result_rows[0][0]
    assert figures["acknowledged"] == len(group_alerts)
    assert figures["escalated"] >= expected - 1 or deadline.date() != started.date()
    assert "告警日报" in digests[0]["title"]
    again = outbox.run_notifications(client, settings, morning + timedelta(hours=9))
    assert again.scheduled == 0                                          # one digest per channel and day


def test_monthly_report_and_agency_digests_go_to_the_channels_that_ask(platform, receiver):
    from notify_receivers import Mailbox, smtp_server

    client, settings = platform
    mailbox = Mailbox()
    server = smtp_server(mailbox)
    try:
        agency = client.query("SELECT agency_id, name FROM agencies FINAL ORDER BY agency_id LIMIT 1"
                              ).result_rows[0]
        notify = settings.notify.model_copy(update={
            "channels": [
                ChannelSettings(name="officials", kind="email", target="officials@odwatch.example",
                                smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none",
                                sender="odwatch@odwatch.example"),
                ChannelSettings(name="ops", kind="webhook", target=receiver.url("webhook")),
                ChannelSettings(name="agency", kind="wecom", target=receiver.url("wecom"),
                                agencies=[agency[0]])],
            "escalation": EscalationSettings(),
            "schedules": [ScheduleSettings(kind="operation_report", channels=["officials", "ops"], day=1,
                                           at="09:00"),
                          ScheduleSettings(kind="agency_digest", channels=["agency"], day=2, at="09:00")]})
        monthly = settings.model_copy(update={"notify": notify})
        today = clock.today()
        first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)      # the 1st of next month
        month = f"{today:%Y-%m}"
        at = datetime.combine(first, datetime.min.time(), clock.SHANGHAI)
        early = outbox.run_notifications(client, monthly, at + timedelta(hours=8))
        assert early.scheduled == 0                                              # not yet 09:00
        run = outbox.run_notifications(client, monthly, at + timedelta(hours=9, minutes=1))
        assert run.scheduled == 2 and run.failed == 0, run
        _, recipients, mail = mailbox.messages[-1]
        assert recipients == ["officials@odwatch.example"]
        assert mail["Subject"] == f"{today.year}年{today.month}月公共数据开放平台运行情况报告"
        [report] = list(mail.iter_attachments())
        assert report.get_filename() == f"平台运行情况报告-{month}.pdf"
        assert report.get_content().startswith(b"%PDF")
        summary = [m for m in receiver.bodies("webhook") if m["kind"] == "operation_report"]
        assert len(summary) == 1 and "可用率" in summary[0]["text"] and summary[0]["data"]["month"] == month
        # The agency digest waits for its own day, then goes to the channel of that agency only.
        second = outbox.run_notifications(client, monthly, at + timedelta(days=1, hours=9, minutes=1))
        assert second.scheduled == 1
        [digest] = [b for b in receiver.bodies("wecom") if "数据开放情况" in b["markdown"]["content"]]
        content = digest["markdown"]["content"]
        assert agency[1] in content and "5个工作日内办结率" in content
        again = outbox.run_notifications(client, monthly, at + timedelta(days=3))
        assert again.scheduled == 0                                              # once a month
    finally:
        server.stop()
