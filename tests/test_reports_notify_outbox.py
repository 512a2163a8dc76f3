"""The outbox of notifications (reports/notify/outbox.py): one message per new alert group and channel,
never again for the same window; retries with back-off against a receiver that fails twice then
succeeds; a channel that never answers neither blocks another channel nor raises; every attempt stored
and audited; escalation deadlines on the statutory calendar. Then on the demo platform as `odwatch
serve` runs it, with an injectable clock: detection and notification, escalation of the groups nobody
acknowledged, the next morning's digest, the monthly report and the agencies' digests. Last, a
channel's per-minute limit (a flood waits, the critical group first) and the notifier's priority.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta

import pytest
from conftest import fresh_database
from notify_receivers import HttpReceiver

from demo.platform import build_demo
from detectors import store, triage
from detectors.base import Alert
from detectors.runner import run_detectors
from odwatch import clock
from odwatch.clock import SHANGHAI
from odwatch.settings import (
    ROBOT_MESSAGES_PER_MINUTE,
    ChannelSettings,
    EscalationSettings,
    NotifySettings,
    ScheduleSettings,
)
from reports.notify import health, outbox

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)          # a Wednesday, in working time


def alert(category: str, severity: str, consumer: str, day: int, hour: int | None = None, **extra) -> Alert:
    start = datetime(2026, 11, day, hour or 0, tzinfo=SHANGHAI)
    end = start + (timedelta(hours=1) if hour is not None else timedelta(days=1))
    return Alert(detector_id=category, category=category, article="第三十条", severity=severity, score=5.0,
                 message=f"alerts.{category}", window_start=start, window_end=end, consumer_id=consumer,
                 dataset_id="d1", **extra)


@pytest.fixture
def http():
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


def with_channels(settings, *channels, **notify):
    return settings.model_copy(update={"notify": NotifySettings(channels=list(channels), **notify)})


def audited_attempts(client, message_id: str) -> list[tuple[int, str]]:
    """(attempt, outcome) of a message as the audit trail lists them."""
    entries = client.query("SELECT detail FROM audit_log WHERE action = 'notify.attempts' ORDER BY seq")
    return [(a["attempt"], a["outcome"]) for (detail,) in entries.result_rows
            for a in json.loads(detail)["attempts"] if a["message_id"] == message_id]


def test_one_message_per_new_group_never_again_for_the_same_window(client, settings, http):
    client.insert("agencies", [["a1", "市交通委", "", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    client.insert("datasets", [["d1", "a1", "公交线路"]], column_names=["dataset_id", "agency_id", "name"])
    # Three hourly alerts of one group on one day: one message. A high one: below the channel's minimum.
    store.save_alerts(client, [alert("burst", "critical", "c1", 24, h) for h in (9, 10, 11)]
                      + [alert("scraping", "high", "c2", 24)])
    settings = with_channels(settings, ChannelSettings(name="duty", kind="webhook",
                                                       target=http.url("webhook"), min_severity="critical"))
    first = outbox.run_notifications(client, settings, NOW)
    assert (first.new_groups, first.queued, first.sent) == (2, 1, 1)
    sent = http.bodies("webhook")
    assert len(sent) == 1 and sent[0]["data"]["alerts"] == 3 and sent[0]["data"]["severity"] == "critical"
    assert "公交线路" in sent[0]["text"] and "市交通委" in sent[0]["text"]
    # Re-detection replaces the same alerts: nothing new to say.
    store.save_alerts(client, [alert("burst", "critical", "c1", 24, h) for h in (9, 10, 11)])
    again = outbox.run_notifications(client, settings, NOW + timedelta(minutes=15))
    assert (again.new_groups, again.queued, again.sent) == (0, 0, 0) and len(http.bodies("webhook")) == 1
    # The same group on the next day is a new window: one more message.
    store.save_alerts(client, [alert("burst", "critical", "c1", 25, 8)])
    next_day = outbox.run_notifications(client, settings, NOW + timedelta(minutes=30))
    assert (next_day.new_groups, next_day.sent) == (1, 1)
    assert audited_attempts(client, outbox.message_id("duty", "alert_group", "burst|c1|d1|2026-11-24")) \
        == [(1, "sent")]


def test_acknowledged_groups_and_old_windows_are_not_announced(client, settings, http):
    old = alert("burst", "critical", "c1", 1)
    handled = alert("burst", "critical", "c2", 24)
    store.save_alerts(client, [old, handled])
    triage.acknowledge(client, [handled.alert_id], "sam")
    settings = with_channels(settings, ChannelSettings(name="duty", kind="webhook",
                                                       target=http.url("webhook")))
    summary = outbox.run_notifications(client, settings, NOW)
    assert (summary.new_groups, summary.sent) == (0, 0)


def test_a_receiver_failing_twice_gets_the_message_on_the_third_attempt(client, settings, http):
    flaky = ChannelSettings(name="flaky", kind="webhook", target=http.url("flaky"))
    settings = with_channels(settings, flaky, retry_after_s=30)
    message_id = outbox.queue_test_message(client, settings, settings.notify.channels[0], NOW)
    assert outbox.deliver(client, settings, NOW).retrying == 1
    assert outbox.deliver(client, settings, NOW + timedelta(seconds=10)).retrying == 0      # backing off
    assert outbox.deliver(client, settings, NOW + timedelta(seconds=31)).retrying == 1      # second failure
    assert outbox.deliver(client, settings, NOW + timedelta(seconds=60)).sent == 0          # waits 60 s now
    assert outbox.deliver(client, settings, NOW + timedelta(seconds=92)).sent == 1
    attempts = client.query("SELECT attempt, ok, status_code FROM notify_attempts "
                            "WHERE message_id = {m:String} ORDER BY attempt",
                            parameters={"m": message_id}).result_rows
    assert attempts == [(1, 0, 503), (2, 0, 503), (3, 1, 200)]
    assert audited_attempts(client, message_id) == [(1, "retry"), (2, "retry"), (3, "sent")]
    assert outbox.deliver(client, settings, NOW + timedelta(hours=1)).sent == 0              # sent once


def test_a_channel_gives_up_after_its_last_attempt(client, settings, http):
    broken = ChannelSettings(name="broken", kind="webhook", target=http.url("broken"))
    settings = with_channels(settings, broken, max_attempts=2, retry_after_s=1)
    outbox.queue_test_message(client, settings, settings.notify.channels[0], NOW)
    assert outbox.deliver(client, settings, NOW).retrying == 1
    assert outbox.deliver(client, settings, NOW + timedelta(seconds=5)).failed == 1
    [row] = health.channel_health(client, settings, NOW + timedelta(seconds=5))
    assert row["failing"] and row["failed"] == 1 and row["pending"] == 0 and "HTTP 500" in row["last_reason"]


def test_a_silent_channel_does_not_hold_up_another_and_never_raises(client, settings, http):
    settings = with_channels(
        settings,
        ChannelSettings(name="silent", kind="webhook", target=http.url("silent"), timeout_s=1),
        ChannelSettings(name="duty", kind="wecom", target=http.url("wecom")))
    store.save_alerts(client, [alert("probing", "critical", c, 25, 9) for c in ("c1", "c2")])
    summary = outbox.run_notifications(client, settings, NOW)
    # Two groups for each channel: the silent one stopped after its first timeout, the other sent both.
    assert (summary.queued, summary.sent, summary.retrying) == (4, 2, 1)
    states = dict(client.query("SELECT channel, groupArray(status) FROM notify_outbox FINAL GROUP BY channel")
                  .result_rows)
    assert sorted(states["duty"]) == ["sent", "sent"] and sorted(states["silent"]) == ["pending", "pending"]
    rows = {r["name"]: r for r in health.channel_health(client, settings, NOW)}
    assert rows["silent"]["failing"] and rows["silent"]["last_reason"] == "1 秒内无应答"
    assert not rows["duty"]["failing"] and rows["duty"]["sent_24h"] == 2


def test_missing_secrets_are_named_at_start(settings):
    configured = with_channels(settings, ChannelSettings(name="dd", kind="dingtalk", target="https://x.example/",
                                                         secret_env="DD_SECRET"))
    problems = health.channel_problems(configured, environ={})
    assert problems == ["notify.channels[0] (dd).secret_env: the environment variable DD_SECRET is not set"]
    assert health.channel_problems(configured, environ={"DD_SECRET": "x"}) == []


@pytest.mark.parametrize(("first_seen", "deadline"), [
    # Working time: 30 minutes later.
    (datetime(2025, 9, 26, 10, 0), datetime(2025, 9, 26, 10, 30)),
    # A working day's evening: 09:30 on the next working day, here the make-up Sunday before National Day.
    (datetime(2025, 9, 26, 20, 0), datetime(2025, 9, 28, 9, 30)),
    # The early morning of a working day: 09:30 the same day.
    (datetime(2025, 9, 29, 6, 0), datetime(2025, 9, 29, 9, 30)),
    # Before the holiday (1–8 October 2025): after it.
    (datetime(2025, 9, 30, 19, 0), datetime(2025, 10, 9, 9, 30)),
    (datetime(2025, 10, 3, 11, 0), datetime(2025, 10, 9, 9, 30)),
    # A make-up Saturday is working time.
    (datetime(2025, 10, 11, 10, 0), datetime(2025, 10, 11, 10, 30)),
])
def test_the_escalation_deadline_follows_the_statutory_calendar(first_seen, deadline):
    rule = NotifySettings().escalation
    found = outbox.escalation_deadline(first_seen.replace(tzinfo=SHANGHAI), rule)
    assert found == deadline.replace(tzinfo=SHANGHAI)


def test_the_notify_job_runs_beside_the_others_when_channels_are_configured(client, settings, http):
    from dashboard import jobs

    assert "notify" not in jobs.build_scheduler(settings).jobs
    duty = ChannelSettings(name="duty", kind="webhook", target=http.url("webhook"))
    settings = with_channels(settings, duty)
    hour = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    store.save_alerts(client, [Alert(detector_id="probing", category="probing", article="第三十条",
                                     severity="critical", score=5.0, message="alerts.probing",
                                     window_start=hour,
                                     window_end=hour + timedelta(hours=1), consumer_id="c1")])
    scheduler = jobs.build_scheduler(settings)
    assert scheduler.jobs["notify"].every_s == settings.notify_every_s
    status = scheduler.run_now("notify")
    assert status.last_error == "" and "sent=1" in status.last_result


# ---- On the demo platform: detection, notification, escalation, digests and reports ------------------------

CRITICAL_GROUP_DAYS = """
SELECT count() FROM (
    SELECT group_key, toDate(window_start, 'Asia/Shanghai') AS day,
           max(indexOf(['low', 'medium', 'high', 'critical'], severity)) AS worst
    FROM alerts FINAL
    WHERE window_end >= toDateTime({since:Int64}, 'Asia/Shanghai')
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
    settings, client = fresh_database("t_notify_demo")
    build_demo(client, settings, scale="small")
    run_detectors(client, settings)
    notify = NotifySettings(
        channels=[ChannelSettings(name="duty", kind="webhook", target=receiver.url("webhook"),
                                  min_severity="critical"),
                  # The loopback robot takes any number a minute (the limit has its own test below).
                  ChannelSettings(name="lead", kind="wecom", target=receiver.url("wecom"),
                                  min_severity="critical", max_per_minute=0)],
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
    # The groups whose windows ended within the look-back (the demo's agreements reach back years).
    since = clock.epoch(started - timedelta(hours=settings.notify.lookback_hours))
    expected = client.query(CRITICAL_GROUP_DAYS, parameters={"since": since}).result_rows[0][0]
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
    # The first run after 08:30 on a later day queues it: this one, or the escalation runs above when
    # the groups were first seen outside working time and their deadline fell on a later morning.
    outbox.run_notifications(client, settings, morning + timedelta(hours=8, minutes=31))
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


# ---- Per-minute limits of a channel, and the notifier's background priority --------------------------------

def test_robot_channels_have_their_limit_and_others_none_unless_set():
    def limit(kind: str, **extra) -> int:
        channel = ChannelSettings(name="c", kind=kind, target="https://example.gov.cn/x", **extra)
        return channel.per_minute_limit

    assert limit("wecom") == limit("dingtalk") == ROBOT_MESSAGES_PER_MINUTE
    assert limit("webhook") == 0 and limit("webhook", max_per_minute=5) == 5
    assert limit("wecom", max_per_minute=0) == 0


def test_a_flood_waits_for_the_next_minute_with_the_critical_group_first(client, settings, http):
    # 24 medium groups, then one critical group detected later on the same day.
    store.save_alerts(client, [alert("burst", "medium", f"c{n:02d}", 24) for n in range(24)])
    store.save_alerts(client, [alert("scraping", "critical", "attacker", 24)])
    settings = with_channels(settings, ChannelSettings(name="duty", kind="wecom", target=http.url("wecom"),
                                                       min_severity="medium"))
    first = outbox.run_notifications(client, settings, NOW)
    assert (first.queued, first.sent, first.waiting) == (25, ROBOT_MESSAGES_PER_MINUTE, 5)
    sent = http.bodies("wecom")
    assert len(sent) == ROBOT_MESSAGES_PER_MINUTE
    assert "严重" in sent[0]["markdown"]["content"]           # the critical group went out first
    # Within the same minute nothing more goes out; a minute later the rest does.
    same_minute = outbox.run_notifications(client, settings, NOW + timedelta(seconds=30))
    assert (same_minute.sent, same_minute.waiting) == (0, 5)
    later = outbox.run_notifications(client, settings, NOW + timedelta(seconds=61))
    assert (later.sent, later.waiting) == (5, 0) and len(http.bodies("wecom")) == 25


def test_a_test_message_goes_before_the_backlog_and_says_when_the_limit_holds_it(client, settings, http):
    store.save_alerts(client, [alert("burst", "critical", f"c{n:02d}", 24) for n in range(30)])
    robot = ChannelSettings(name="duty", kind="wecom", target=http.url("wecom"), min_severity="critical")
    settings = with_channels(settings, robot)
    outbox.announce_new_groups(client, settings, NOW)                   # 30 due, none sent yet
    assert outbox.send_test_message(client, settings, robot, NOW).status == "sent"
    assert "测试" in http.bodies("wecom")[0]["markdown"]["content"]      # first, before the backlog
    assert len(http.bodies("wecom")) == ROBOT_MESSAGES_PER_MINUTE        # then the backlog, to the limit
    held = outbox.send_test_message(client, settings, robot, NOW + timedelta(seconds=20))
    assert held.status == "waiting" and "20" in held.reason
    assert len(http.bodies("wecom")) == ROBOT_MESSAGES_PER_MINUTE        # nothing past the limit


def test_messages_after_a_channels_failure_are_counted_as_waiting(client, settings, http):
    store.save_alerts(client, [alert("burst", "critical", f"c{n}", 24) for n in range(3)])
    broken = ChannelSettings(name="broken", kind="webhook", target=http.url("broken"),
                             min_severity="critical")
    settings = with_channels(settings, broken)
    run = outbox.run_notifications(client, settings, NOW)
    assert (run.queued, run.sent, run.retrying, run.failed, run.waiting) == (3, 0, 1, 0, 2)


def test_the_notifier_lowers_the_priority_of_its_own_thread_only():
    seen = {}

    def work() -> None:
        outbox.lower_this_thread_priority()
        seen["worker"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen["worker"] == max(before, outbox.BACKGROUND_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before     # never the caller's


def test_each_audit_checkpoint_goes_to_the_channels_that_ask_for_them(client, settings, http):
    from dashboard import jobs
    from warehouse import audit

    keeper = ChannelSettings(name="keeper", kind="webhook", target=http.url("webhook"), checkpoints=True)
    duty = ChannelSettings(name="duty", kind="webhook", target=http.url("webhook"))
    settings = with_channels(settings, keeper, duty)
    jobs.build_scheduler(settings)                          # serve's schedule listens for checkpoints
    try:
        audit.record(client, "alice", "export", "report", "r1")
        point = audit.checkpoint(client, settings)
        outbox.deliver(client, settings)
    finally:
        audit._listeners.clear()
    sent = [b for b in http.bodies("webhook") if b["kind"] == "audit_checkpoint"]
    assert len(sent) == 1 and sent[0]["data"]["line"] == point.line()     # to keeper only, verbatim
