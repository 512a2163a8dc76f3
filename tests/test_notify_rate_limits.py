"""A channel's per-minute limit: 企业微信 and 钉钉 robots take 20 messages a minute (钉钉 silences a robot
that sends more), so a flood waits in the outbox, worst severity first; and the notifier's threads
yield the cores to detection."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from notify_receivers import HttpReceiver
from test_notify_outbox import NOW, alert, with_channels

from detectors import store
from odwatch.settings import ROBOT_MESSAGES_PER_MINUTE, ChannelSettings
from reports.notify import outbox


@pytest.fixture
def http():
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


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


def test_the_notifier_lowers_the_priority_of_its_own_thread_only():
    seen = {}

    def work() -> None:
        outbox.lower_this_thread_priority()
        seen["worker"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen["worker"] == before + outbox.BACKGROUND_NICENESS
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
