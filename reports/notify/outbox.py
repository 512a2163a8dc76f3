"""The notification outbox: what detection stored becomes messages, queued once, delivered with retries.

One run (`run_notifications`, by the serve job after every detector run and on its own schedule,
or by `odwatch notify run` from cron) does four things, each reading only what is stored:

1. New alert groups. An alert group of one Shanghai day (group_key, day) with an alert still
   new, whose windows ended within `lookback_hours`, that `notify_groups` has not seen, is
   marked seen and queued once for every channel whose filters it passes. A re-detection of
   the same window replaces the alerts and finds the mark: nothing is sent again.
2. Escalation. A group of an escalated severity still unacknowledged past its deadline (working
   time: `minutes` after it was first seen; otherwise `next_working_day_by` on the next working
   day, on the statutory calendar) is queued for the escalation channels, and its new alerts get
   an `escalate` event in their history.
3. Schedules. A daily digest, a monthly platform-operation report or per-agency monthly digests,
   each queued once per period (the message id is the channel, the kind and the period).
4. Delivery. Due messages are sent, one thread per channel, so a slow channel never holds up
   another; a channel stops for the run at its first failure (its other messages wait for the
   next run rather than each waiting out a timeout). Each attempt is stored in
   `notify_attempts` and audited (one entry per channel and batch lists its attempts); a failure
   is retried after `retry_after_s`, doubling up to `retry_max_s`, until `max_attempts`, then the
   message is `failed`.

Detection never waits on any of this: the serve job runs in a thread of its own, and
`odwatch detect` does not notify at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from time import monotonic
from typing import Any

from clickhouse_connect.driver.client import Client

from detectors import triage
from odwatch import calendar, clock
from odwatch.i18n import t
from odwatch.settings import ChannelSettings, EscalationSettings, ScheduleSettings, Settings
from odwatch.vocabulary import SEVERITIES
from reports.notify import channels as transport
from reports.notify import messages
from warehouse import audit

ACTOR = "system:notify"
# Attempts are written (and so never sent again) in batches of this many, or at least this often:
# each write is an engine round trip, which detection running beside the notifier pays for too.
DELIVERY_BATCH = 200
DELIVERY_FLUSH_S = 2.0
MAX_DUE_PER_CHANNEL = 5000

GROUP_COLUMNS = ["group_key", "day", "category", "severity", "agency_id", "consumer_id", "first_seen_at",
                 "escalated_at", "updated_at"]
OUTBOX_COLUMNS = ["message_id", "channel", "kind", "subject_key", "severity", "subject", "body", "attachment",
                  "status", "attempts", "next_attempt_at", "last_error", "created_at", "sent_at",
                  "updated_at"]
ATTEMPT_COLUMNS = ["message_id", "channel", "kind", "attempt", "at", "ok", "status_code", "reason",
                   "elapsed_ms"]

# Alert groups by Shanghai day of their windows, with what a message says about them. `$where`
# narrows the groups: not yet seen (new groups), or one group-day (escalation).
GROUP_DAYS = """
SELECT g.group_key AS group_key, g.day AS day, g.category AS category, g.article AS article,
       g.severity AS severity, g.consumer_id AS consumer_id, g.key_id AS key_id, g.client_ip AS client_ip,
       g.dataset_id AS dataset_id, g.agency_id AS agency_id, g.alerts AS alerts,
       g.new_alert_ids AS new_alert_ids, g.first_window AS first_window, g.last_window AS last_window,
       g.latest_alert_id AS latest_alert_id, c.name AS consumer_name, toString(c.kind) AS consumer_kind,
       d.name AS dataset_name, ag.name AS agency_name
FROM (
    SELECT a.group_key                                   AS group_key,
           toDate(a.window_start, 'Asia/Shanghai')       AS day,
           any(a.category)                               AS category,
           any(a.article)                                AS article,
           ['low', 'medium', 'high', 'critical'][
               max(indexOf(['low', 'medium', 'high', 'critical'], a.severity))] AS severity,
           any(a.consumer_id) AS consumer_id, any(a.key_id) AS key_id, any(a.client_ip) AS client_ip,
           any(a.dataset_id) AS dataset_id, any(a.agency_id) AS agency_id,
           count()                                       AS alerts,
           countIf(e.alert_id = '' OR e.status = 'new')  AS still_new,
           groupArrayIf(a.alert_id, e.alert_id = '' OR e.status = 'new') AS new_alert_ids,
           min(a.window_start)                           AS first_window,
           max(a.window_end)                             AS last_window,
           argMax(a.alert_id, a.window_start)            AS latest_alert_id
    FROM alerts AS a FINAL
    LEFT JOIN (SELECT alert_id, argMax(status, at) AS status FROM alert_events GROUP BY alert_id) AS e
           ON e.alert_id = a.alert_id
    WHERE $where
    GROUP BY group_key, day
    HAVING still_new > 0
) AS g
LEFT JOIN (SELECT consumer_id, name, kind FROM consumers FINAL) AS c ON c.consumer_id = g.consumer_id
LEFT JOIN (SELECT dataset_id, name FROM datasets FINAL) AS d ON d.dataset_id = g.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS ag ON ag.agency_id = g.agency_id
ORDER BY g.day, g.group_key
"""
UNSEEN = """a.window_end >= toDateTime({since:Int64}, 'Asia/Shanghai')
      AND (a.group_key, toDate(a.window_start, 'Asia/Shanghai'))
          NOT IN (SELECT group_key, day FROM notify_groups)"""
ONE_GROUP_DAY = """a.group_key = {group_key:String}
      AND toDate(a.window_start, 'Asia/Shanghai') = {day:Date}"""

TO_ESCALATE = """
SELECT group_key, day, first_seen_at, severity
FROM notify_groups FINAL
WHERE escalated_at IS NULL
  AND severity IN {severities:Array(String)}
  AND first_seen_at >= toDateTime64({since:Int64}, 3, 'Asia/Shanghai')
ORDER BY first_seen_at
"""

GROUP_ROW = """
SELECT group_key, day, category, severity, agency_id, consumer_id, first_seen_at, escalated_at, updated_at
FROM notify_groups FINAL
WHERE group_key = {group_key:String} AND day = {day:Date}
"""

EXISTING_MESSAGES = "SELECT message_id FROM notify_outbox WHERE message_id IN {ids:Array(String)}"

DUE = """
SELECT message_id, channel, kind, subject_key, severity, subject, body, attachment, attempts, created_at
FROM notify_outbox FINAL
WHERE status = 'pending' AND next_attempt_at <= fromUnixTimestamp64Milli({now_ms:Int64}, 'Asia/Shanghai')
ORDER BY channel, kind = 'test' DESC, indexOf({weakest_first:Array(String)}, severity) DESC,
         created_at, message_id
LIMIT {per_channel:UInt32} BY channel
"""

# How many messages are due per channel: what a run did not attempt waits for the next one.
DUE_COUNTS = """
SELECT channel, count()
FROM notify_outbox FINAL
WHERE status = 'pending' AND next_attempt_at <= fromUnixTimestamp64Milli({now_ms:Int64}, 'Asia/Shanghai')
GROUP BY channel
"""

# Attempts per channel over the last minute, for the channels' per-minute limits.
SENT_LAST_MINUTE = """
SELECT channel, count()
FROM notify_attempts
WHERE at > fromUnixTimestamp64Milli({now_ms:Int64}, 'Asia/Shanghai') - INTERVAL 1 MINUTE
GROUP BY channel
"""

# The daily digest's figures for one channel: its categories and agencies, every severity.
CHANNEL_ALERTS = """
(empty({categories:Array(String)}) OR has({categories:Array(String)}, toString(category)))
  AND (empty({agencies:Array(String)}) OR has({agencies:Array(String)}, agency_id))"""
DIGEST = f"""
WITH channel_alerts AS (SELECT alert_id FROM alerts FINAL WHERE {CHANNEL_ALERTS})
SELECT
    (SELECT count() FROM alerts FINAL
     WHERE toDate(window_start, 'Asia/Shanghai') = {{day:Date}} AND {CHANNEL_ALERTS}) AS opened,
    (SELECT count() FROM alerts FINAL
     WHERE toDate(window_start, 'Asia/Shanghai') = {{day:Date}} AND severity = 'critical'
       AND {CHANNEL_ALERTS}) AS critical,
    (SELECT countIf(action = 'acknowledge') FROM alert_events
     WHERE toDate(at, 'Asia/Shanghai') = {{day:Date}}
       AND alert_id IN (SELECT alert_id FROM channel_alerts)) AS acknowledged,
    (SELECT countIf(action = 'confirm') FROM alert_events
     WHERE toDate(at, 'Asia/Shanghai') = {{day:Date}}
       AND alert_id IN (SELECT alert_id FROM channel_alerts)) AS confirmed,
    (SELECT countIf(action = 'dismiss') FROM alert_events
     WHERE toDate(at, 'Asia/Shanghai') = {{day:Date}}
       AND alert_id IN (SELECT alert_id FROM channel_alerts)) AS dismissed,
    (SELECT countIf(action = 'escalate') FROM alert_events
     WHERE toDate(at, 'Asia/Shanghai') = {{day:Date}}
       AND alert_id IN (SELECT alert_id FROM channel_alerts)) AS escalated,
    (SELECT count() FROM violations FINAL
     WHERE toDate(recorded_at, 'Asia/Shanghai') = {{day:Date}}
       AND (empty({{agencies:Array(String)}}) OR has({{agencies:Array(String)}}, agency_id))) AS violations,
    (SELECT count() FROM alerts AS a FINAL
     LEFT JOIN (SELECT alert_id, argMax(status, at) AS status FROM alert_events GROUP BY alert_id) AS e
            ON e.alert_id = a.alert_id
     WHERE (e.alert_id = '' OR e.status IN ('new', 'acknowledged')) AND {CHANNEL_ALERTS}) AS open_now
"""

AGENCIES = "SELECT agency_id, name FROM agencies FINAL ORDER BY agency_id"


@dataclass
class RunSummary:
    new_groups: int = 0
    queued: int = 0
    escalated: int = 0
    scheduled: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    waiting: int = 0                # due, but held back by a channel's per-minute limit
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (f"groups={self.new_groups} queued={self.queued} escalated={self.escalated} "
                f"scheduled={self.scheduled} sent={self.sent} retrying={self.retrying} failed={self.failed} "
                f"waiting={self.waiting}")
        return text + (f" problems={'; '.join(self.problems)}" if self.problems else "")


# ---- helpers ---------------------------------------------------------------------------------

def _ms(moment: datetime) -> datetime:
    moment = clock.shanghai(moment)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def message_id(channel: str, kind: str, subject_key: str) -> str:
    return hashlib.sha256(f"{channel}|{kind}|{subject_key}".encode()).hexdigest()[:32]


def group_id(group_key: str) -> str:
    """A stable id of an alert group that names nobody (the group key holds the entity)."""
    return hashlib.sha256(group_key.encode()).hexdigest()[:16]


def _rows(result) -> list[dict[str, Any]]:
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _local(record: dict[str, Any]) -> dict[str, Any]:
    return {k: clock.shanghai(v) if isinstance(v, datetime) else v for k, v in record.items()}


def severity_at_least(severity: str, minimum: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(minimum)


def wants(channel: ChannelSettings, group: dict[str, Any]) -> bool:
    """A channel's filters: severity at or above its minimum, its categories and agencies (empty: all)."""
    return (channel.enabled and severity_at_least(group["severity"], channel.min_severity)
            and (not channel.categories or group["category"] in channel.categories)
            and (not channel.agencies or group["agency_id"] in channel.agencies))


def _new_message(channel: ChannelSettings, kind: str, subject_key: str, make: Callable[[], messages.Message],
                 now: datetime, attachment: str = "") -> list[Any]:
    """An outbox row: the message built and rendered in the channel's language."""
    moment = _ms(now)
    body = messages.in_language(channel.language, lambda: make().rendered())
    return [message_id(channel.name, kind, subject_key), channel.name, kind, subject_key, body["severity"],
            body["title"], json.dumps(body, ensure_ascii=False, default=str), attachment, "pending", 0,
            moment, "", moment, None, moment]


def queue_messages(client: Client, rows: list[list[Any]]) -> int:
    """Insert the messages not queued before (their ids are deterministic); returns how many were new."""
    if not rows:
        return 0
    ids = [row[0] for row in rows]
    existing = {r[0] for r in client.query(EXISTING_MESSAGES, parameters={"ids": ids}).result_rows}
    fresh = list({row[0]: row for row in rows if row[0] not in existing}.values())
    if fresh:
        client.insert("notify_outbox", fresh, column_names=OUTBOX_COLUMNS)
    return len(fresh)


# ---- 1. new alert groups ----------------------------------------------------------------------

def new_groups(client: Client, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Group-days with an alert still new that no run has seen yet, within the look-back."""
    since = clock.epoch(now - timedelta(hours=settings.notify.lookback_hours))
    result = client.query(GROUP_DAYS.replace("$where", UNSEEN), parameters={"since": since})
    return [_local(row) | {"group_id": group_id(row["group_key"])} for row in _rows(result)]


def announce_new_groups(client: Client, settings: Settings, now: datetime) -> tuple[int, int]:
    """Mark every new group-day seen and queue one message per group for each channel that wants it.
    Returns (groups, messages queued)."""
    groups = new_groups(client, settings, now)
    if not groups:
        return 0, 0
    moment = _ms(now)
    client.insert("notify_groups", [[g["group_key"], g["day"], g["category"], g["severity"], g["agency_id"],
                                     g["consumer_id"], moment, None, moment] for g in groups],
                  column_names=GROUP_COLUMNS)
    url = settings.notify.dashboard_url
    rows = [_new_message(channel, "alert_group", f"{g['group_key']}|{g['day']}",
                         lambda g=g: messages.alert_group_message(g, url), now)
            for g in groups for channel in settings.notify.channels if wants(channel, g)]
    return len(groups), queue_messages(client, rows)


# ---- 2. escalation ----------------------------------------------------------------------------

def _at(day: date, text: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(text), clock.SHANGHAI)


def in_working_time(moment: datetime, rule: EscalationSettings) -> bool:
    moment = clock.shanghai(moment)
    working, _ = calendar.is_working_day(moment.date())
    start, end = (_at(moment.date(), t) for t in rule.working_hours)
    return working and start <= moment < end


def escalation_deadline(first_seen: datetime, rule: EscalationSettings) -> datetime:
    """`minutes` after `first_seen` in working time; otherwise `next_working_day_by` on the next
    working day (the same day when first seen on a working day's early morning)."""
    first_seen = clock.shanghai(first_seen)
    if in_working_time(first_seen, rule):
        return first_seen + timedelta(minutes=rule.minutes)
    day = first_seen.date()
    while not (calendar.is_working_day(day)[0] and _at(day, rule.next_working_day_by) > first_seen):
        day += timedelta(days=1)
    return _at(day, rule.next_working_day_by)


def escalate_overdue(client: Client, settings: Settings, now: datetime) -> int:
    """Queue an escalation for each overdue, still unacknowledged group; returns how many."""
    rule = settings.notify.escalation
    targets = [settings.notify.channel(name) for name in rule.channels]
    if not targets:
        return 0
    since = clock.epoch(now - timedelta(hours=settings.notify.lookback_hours))
    candidates = _rows(client.query(TO_ESCALATE, parameters={"severities": list(rule.severities),
                                                              "since": since}))
    escalated = 0
    for candidate in candidates:
        first_seen = clock.shanghai(candidate["first_seen_at"])
        deadline = escalation_deadline(first_seen, rule)
        if now < deadline:
            continue
        found = _rows(client.query(GROUP_DAYS.replace("$where", ONE_GROUP_DAY), parameters={
            "group_key": candidate["group_key"], "day": candidate["day"]}))
        if not found:                      # acknowledged in time after all, or no longer stored
            continue
        group = _local(found[0]) | {"group_id": group_id(candidate["group_key"])}
        key = f"{group['group_key']}|{group['day']}"
        def make(group=group, first_seen=first_seen, deadline=deadline) -> messages.Message:
            return messages.escalation_message(group, settings.notify.dashboard_url, first_seen, deadline)

        queue_messages(client, [_new_message(c, "escalation", key, make, now) for c in targets if c])
        triage.escalate(client, group["new_alert_ids"], ACTOR, {"deadline": deadline.isoformat(),
                                                                "channels": rule.channels})
        _mark_escalated(client, candidate["group_key"], candidate["day"], now)
        escalated += 1
    return escalated


def _mark_escalated(client: Client, group_key: str, day: date, now: datetime) -> None:
    row = _rows(client.query(GROUP_ROW, parameters={"group_key": group_key, "day": day}))[0]
    moment = _ms(now)
    if moment <= clock.shanghai(row["updated_at"]):
        moment = clock.shanghai(row["updated_at"]) + timedelta(milliseconds=1)
    row.update(escalated_at=_ms(now), updated_at=moment)
    client.insert("notify_groups", [[row[c] for c in GROUP_COLUMNS]], column_names=GROUP_COLUMNS)


# ---- 3. schedules -----------------------------------------------------------------------------

def previous_month(day: date) -> str:
    first = day.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def daily_digest_figures(client: Client, channel: ChannelSettings, day: date) -> dict[str, int]:
    params = {"day": day, "categories": channel.categories, "agencies": channel.agencies}
    return {k: int(v) for k, v in _rows(client.query(DIGEST, parameters=params))[0].items()}


def _due(schedule: ScheduleSettings, now: datetime) -> bool:
    now = clock.shanghai(now)
    at = _at(now.date(), schedule.at)
    if schedule.kind == "daily_digest":
        return now >= at
    return now.day > schedule.day or (now.day == schedule.day and now >= at)


def _schedule_messages(client: Client, settings: Settings, schedule: ScheduleSettings,
                       now: datetime) -> list[list[Any]]:
    from reports.notify import periodic

    url = settings.notify.dashboard_url
    today = clock.shanghai(now).date()
    chosen = [settings.notify.channel(name) for name in schedule.channels]
    rows: list[list[Any]] = []
    if schedule.kind == "daily_digest":
        day = today - timedelta(days=1)
        for channel in chosen:
            if _queued(client, channel.name, "daily_digest", day.isoformat()):
                continue
            figures = daily_digest_figures(client, channel, day)
            rows.append(_new_message(channel, "daily_digest", day.isoformat(),
                                     lambda f=figures: messages.daily_digest_message(day, f, url), now))
        return rows
    month = previous_month(today)
    if schedule.kind == "operation_report":
        waiting = [c for c in chosen if not _queued(client, c.name, "operation_report", month)]
        if not waiting:
            return []
        report = periodic.operation_report_file(client, settings, month, schedule.format, today)
        for channel in waiting:
            attached = channel.kind == "email"

            def make(attached=attached) -> messages.Message:
                return messages.operation_report_message(
                    month, periodic.operation_summary_lines(client, settings, month, today), url, attached)

            rows.append(_new_message(channel, "operation_report", month, make, now,
                                     str(report.relative_to(settings.data_dir)) if attached else ""))
        return rows
    agencies = _rows(client.query(AGENCIES))
    for channel in chosen:
        for agency in agencies:
            if channel.agencies and agency["agency_id"] not in channel.agencies:
                continue
            key = f"{agency['agency_id']}|{month}"
            if _queued(client, channel.name, "agency_digest", key):
                continue
            def make(agency=agency) -> messages.Message:
                lines = periodic.agency_month_lines(client, agency["agency_id"], month)
                return messages.agency_digest_message(month, agency["name"], agency["agency_id"], lines, url)

            rows.append(_new_message(channel, "agency_digest", key, make, now))
    return rows


def _queued(client: Client, channel: str, kind: str, subject_key: str) -> bool:
    ids = [message_id(channel, kind, subject_key)]
    return bool(client.query(EXISTING_MESSAGES, parameters={"ids": ids}).result_rows)


def run_schedules(client: Client, settings: Settings, now: datetime) -> int:
    queued = 0
    for schedule in settings.notify.schedules:
        if _due(schedule, now):
            queued += queue_messages(client, _schedule_messages(client, settings, schedule, now))
    return queued


# ---- 4. delivery ------------------------------------------------------------------------------

def backoff(attempts: int, settings: Settings) -> timedelta:
    """The wait before the next attempt after `attempts` failed ones."""
    seconds = settings.notify.retry_after_s * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.notify.retry_max_s))


def due_messages(client: Client, now: datetime,
                 per_channel: int = MAX_DUE_PER_CHANNEL) -> list[dict[str, Any]]:
    """Pending messages whose time has come, per channel: a test message first, then the worst
    severity, then the oldest. One channel's backlog never takes another channel's turn."""
    result = client.query(DUE, parameters={"now_ms": _epoch_ms(now), "per_channel": per_channel,
                                           "weakest_first": list(SEVERITIES)})
    return _rows(result)


def _epoch_ms(moment: datetime) -> int:
    return int(_ms(moment).timestamp() * 1000)


def within_rate_limits(client: Client, settings: Settings, by_channel: dict[str, list[dict[str, Any]]],
                       now: datetime) -> None:
    """Keep of each channel's messages what its per-minute limit still allows; the rest wait for the
    next run, in the outbox."""
    limited = {name: channel.per_minute_limit for name in by_channel
               if (channel := settings.notify.channel(name)) is not None and channel.per_minute_limit}
    if not limited:
        return
    used = dict(client.query(SENT_LAST_MINUTE, parameters={"now_ms": _epoch_ms(now)}).result_rows)
    for name, limit in limited.items():
        by_channel[name] = by_channel[name][:max(0, limit - used.get(name, 0))]


BACKGROUND_NICENESS = 10


def lower_this_thread_priority() -> None:
    """Sending is background work: when the cores are busy, let the operating system favour
    detection and the dashboard over this thread (Linux sets a thread's own niceness; elsewhere
    nothing happens). Never raises it: a process started with a lower priority keeps it. Only for
    threads that never query the engine: a thread the engine starts from a query inherits it."""
    try:
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        if current < BACKGROUND_NICENESS:
            os.setpriority(os.PRIO_PROCESS, thread, BACKGROUND_NICENESS)
    except (AttributeError, OSError):
        pass


def _send_channel(channel: ChannelSettings, pending: list[dict[str, Any]], data_dir: Path,
                  out: queue.Queue) -> None:
    """Send a channel's messages in order, stopping at its first failure (a worker thread: no engine)."""
    lower_this_thread_priority()
    for message in pending:
        attachment = data_dir / message["attachment"] if message["attachment"] else None
        if attachment is not None and not attachment.is_file():
            outcome = transport.Outcome(False, 0, t("notify.reason.attachment_gone"))
        else:
            outcome = transport.send(channel, json.loads(message["body"]), attachment)
        out.put((message, outcome))
        if not outcome.ok:
            return


# One delivery at a time in this process: two at once (the schedule and a test button) would each
# count a channel's last minute before sending and together pass its limit.
_delivering = threading.Lock()


def deliver(client: Client, settings: Settings, now: datetime | None = None,
            only_channel: str | None = None) -> RunSummary:
    """Send every due message a channel's limit allows; store and audit each attempt. A due message
    not attempted (over the limit, or after its channel's first failure of the run) is counted as
    waiting. `now` fixes the clock (tests)."""
    stamp: Callable[[], datetime] = (lambda: now) if now else clock.now
    summary = RunSummary()
    with _delivering:
        moment = stamp()
        wanted = partial(_wanted, settings, only_channel)
        due_count = sum(n for channel, n in client.query(DUE_COUNTS, parameters={
            "now_ms": _epoch_ms(moment)}).result_rows if wanted(channel))
        by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for message in due_messages(client, moment):
            if wanted(message["channel"]):
                by_channel[message["channel"]].append(message)
        for name in [n for n in by_channel if settings.notify.channel(n) is None]:
            # A channel removed from the file: its messages fail at once, saying why.
            for message in by_channel.pop(name):
                _record(client, settings, [(message, transport.Outcome(
                    False, 0, t("notify.reason.no_channel", name=name)))], stamp, summary, final=True)
        within_rate_limits(client, settings, by_channel, moment)
        _send_all(client, settings, {name: pending for name, pending in by_channel.items() if pending},
                  stamp, summary)
    summary.waiting = max(0, due_count - summary.sent - summary.failed - summary.retrying)
    return summary


def _wanted(settings: Settings, only_channel: str | None, name: str) -> bool:
    if only_channel is not None:
        return name == only_channel
    channel = settings.notify.channel(name)
    return channel is None or channel.enabled      # a disabled channel keeps its messages until enabled


def _send_all(client: Client, settings: Settings, by_channel: dict[str, list[dict[str, Any]]],
              stamp: Callable[[], datetime], summary: RunSummary) -> None:
    """Each channel in a thread of its own (a slow one never holds up another); the outcomes are
    stored here, in batches, since only this thread uses the engine."""
    results: queue.Queue = queue.Queue()
    workers = [threading.Thread(target=_send_channel, name=f"notify-{name}", daemon=True,
                                args=(settings.notify.channel(name), pending, settings.data_dir, results))
               for name, pending in by_channel.items()]
    for worker in workers:
        worker.start()
    batch: list[tuple[dict[str, Any], transport.Outcome]] = []
    flushed = monotonic()
    while any(w.is_alive() for w in workers) or not results.empty():
        try:
            batch.append(results.get(timeout=0.2))
        except queue.Empty:
            pass
        if len(batch) >= DELIVERY_BATCH or (batch and monotonic() - flushed >= DELIVERY_FLUSH_S):
            _record(client, settings, batch, stamp, summary)
            batch, flushed = [], monotonic()
    if batch:
        _record(client, settings, batch, stamp, summary)


def _record(client: Client, settings: Settings, batch: list[tuple[dict[str, Any], transport.Outcome]],
            stamp: Callable[[], datetime], summary: RunSummary, final: bool = False) -> None:
    attempts, versions = [], []
    for message, outcome in batch:
        at = _ms(stamp())
        number = message["attempts"] + 1
        attempts.append([message["message_id"], message["channel"], message["kind"], number, at,
                         int(outcome.ok), outcome.code, outcome.reason, outcome.elapsed_ms])
        if outcome.ok:
            status, next_at, summary.sent = "sent", at, summary.sent + 1
        elif final or number >= settings.notify.max_attempts:
            status, next_at, summary.failed = "failed", at, summary.failed + 1
        else:
            status, next_at = "pending", at + backoff(number, settings)
            summary.retrying += 1
        versions.append([message["message_id"], message["channel"], message["kind"], message["subject_key"],
                         message["severity"], message["subject"], message["body"], message["attachment"],
                         status, number, next_at, outcome.reason, _ms(message["created_at"]),
                         at if outcome.ok else None, at])
    client.insert("notify_attempts", attempts, column_names=ATTEMPT_COLUMNS)
    client.insert("notify_outbox", versions, column_names=OUTBOX_COLUMNS)
    # One audit entry per channel and batch lists every attempt in it with its outcome: each attempt
    # is in the tamper-evident trail, without an entry (an engine round trip) per message.
    by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (message, outcome), version in zip(batch, versions, strict=True):
        by_channel[message["channel"]].append({
            "message_id": message["message_id"], "kind": message["kind"], "attempt": version[9],
            "outcome": "sent" if outcome.ok else version[8] if version[8] == "failed" else "retry",
            "status_code": outcome.code, "reason": outcome.reason, "elapsed_ms": outcome.elapsed_ms})
    for channel, entries in by_channel.items():
        audit.record(client, ACTOR, "notify.attempts", "notify_channel", channel, {"attempts": entries})


# ---- one run ----------------------------------------------------------------------------------

def run_notifications(client: Client, settings: Settings, now: datetime | None = None) -> RunSummary:
    """Announce new groups, escalate, queue what the schedules ask for, then deliver.

    A step that fails is reported in `problems` and the others still run: a broken report must
    not keep alerts from going out.
    """
    moment = clock.shanghai(now) if now else clock.now()
    summary = RunSummary()
    if not settings.notify.channels:
        return summary
    steps: list[tuple[str, Callable[[], None]]] = []

    def announce() -> None:
        summary.new_groups, summary.queued = announce_new_groups(client, settings, moment)

    def escalate() -> None:
        summary.escalated = escalate_overdue(client, settings, moment)

    def schedules() -> None:
        summary.scheduled = run_schedules(client, settings, moment)

    steps = [("announce", announce), ("escalate", escalate), ("schedules", schedules)]
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - one failing step must not stop the others
            summary.problems.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    delivered = deliver(client, settings, now)
    summary.sent, summary.failed, summary.retrying = delivered.sent, delivered.failed, delivered.retrying
    summary.waiting = delivered.waiting
    return summary


def queue_test_message(client: Client, settings: Settings, channel: ChannelSettings,
                       now: datetime | None = None) -> str:
    """A test message for one channel, queued now (sent by `deliver`); returns its id."""
    import uuid

    moment = clock.shanghai(now) if now else clock.now()
    url = settings.notify.dashboard_url
    row = _new_message(channel, "test", uuid.uuid4().hex,
                       lambda: messages.test_message(channel.name, moment, url), moment)
    queue_messages(client, [row])
    return row[0]


def queue_checkpoint(client: Client, settings: Settings, point: audit.Checkpoint) -> int:
    """Queue an audit checkpoint for every channel that asks for them (`checkpoints = true`); the
    next delivery sends it. Returns how many were queued."""
    url = settings.notify.dashboard_url
    rows = [_new_message(channel, "audit_checkpoint", f"{point.chain}|{point.seq}",
                         lambda: messages.checkpoint_message(point.chain, point.seq, point.head, point.at,
                                                             point.line(), url), clock.now())
            for channel in settings.notify.channels if channel.checkpoints and channel.enabled]
    return queue_messages(client, rows) if rows else 0


@dataclass(frozen=True)
class TestOutcome:
    status: str                 # sent | failed | waiting (the channel's per-minute limit is used up)
    reason: str = ""


TEST_OUTCOME = """
SELECT status, attempts, last_error FROM notify_outbox FINAL WHERE message_id = {id:String}
"""


def send_test_message(client: Client, settings: Settings, channel: ChannelSettings,
                      now: datetime | None = None) -> TestOutcome:
    """Queue a test message for one channel, deliver it now (before anything else the channel has
    due) and say what became of that message itself. `now` fixes the clock (tests)."""
    message_id = queue_test_message(client, settings, channel, now)
    deliver(client, settings, now, only_channel=channel.name)
    status, attempts, reason = client.query(TEST_OUTCOME, parameters={"id": message_id}).result_rows[0]
    if status == "pending" and not attempts:
        return TestOutcome("waiting", t("notify.reason.rate_limited", limit=channel.per_minute_limit))
    return TestOutcome("sent" if status == "sent" else "failed", reason)
