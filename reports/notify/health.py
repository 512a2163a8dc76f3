"""Checks at start, and each channel's health for the system page.

`check_channels` is what `odwatch serve` (its prepare step) and `odwatch notify test` run before
anything is sent: the structure of `[notify]` is already validated by odwatch.settings, so what
is left is what only the running environment can tell — a secret's environment variable that is
not set, a CA file that is not there. Each problem names the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import Settings
from reports.notify.channels import display_target

HEALTH = """
SELECT channel,
       max(at)                          AS last_attempt,
       maxIf(at, ok = 1)                AS last_ok,
       maxIf(at, ok = 0)                AS last_failure,
       argMaxIf(reason, at, ok = 0)     AS last_reason,
       countIf(ok = 1 AND at >= fromUnixTimestamp64Milli({since_ms:Int64}, 'Asia/Shanghai')) AS sent_24h,
       countIf(ok = 0 AND at >= fromUnixTimestamp64Milli({since_ms:Int64}, 'Asia/Shanghai')) AS failures_24h
FROM notify_attempts
GROUP BY channel
"""

BACKLOG = """
SELECT channel, countIf(status = 'pending') AS pending, countIf(status = 'failed') AS failed
FROM notify_outbox FINAL
GROUP BY channel
"""

RECENT_ATTEMPTS = """
SELECT at, channel, toString(kind) AS kind, attempt, ok, status_code, reason, elapsed_ms
FROM notify_attempts
ORDER BY at DESC
LIMIT {limit:UInt32}
"""


def channel_problems(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """What keeps a configured channel from working here; [] when every channel can be used."""
    environ = os.environ if environ is None else environ
    problems = []
    for index, channel in enumerate(settings.notify.channels):
        where = f"notify.channels[{index}] ({channel.name})"
        for key in ("target_env", "secret_env", "password_env"):
            name = getattr(channel, key)
            if name and not environ.get(name):
                problems.append(f"{where}.{key}: the environment variable {name} is not set")
        if channel.kind == "email" and channel.smtp_user and not channel.password_env:
            problems.append(f"{where}.password_env: smtp_user is set, so name the variable that holds "
                            "its password")
        if channel.ca_file and not Path(channel.ca_file).is_file():
            problems.append(f"{where}.ca_file: {channel.ca_file} is not a file")
    return problems


def check_channels(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """A UserError naming every key that keeps a channel from working."""
    problems = channel_problems(settings, environ)
    if problems:
        raise UserError("Notification settings: " + "; ".join(problems) + ".")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _when(value: Any) -> datetime | None:
    """A time from the engine, or None for the 1970 default of an aggregate over no rows."""
    if value is None or value.year < 1980:
        return None
    return clock.shanghai(value)


def channel_health(client: Client, settings: Settings, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per configured channel: its last attempts, failures in the last 24 hours, what waits; `failing`
    when its last attempt failed."""
    now = clock.shanghai(now) if now else clock.now()
    result = client.query(HEALTH, parameters={"since_ms": _ms(now - timedelta(hours=24))})
    health = {row[0]: dict(zip(result.column_names, row, strict=True)) for row in result.result_rows}
    backlog = {row[0]: row[1:] for row in client.query(BACKLOG).result_rows}
    rows = []
    for channel in settings.notify.channels:
        seen = health.get(channel.name, {})
        last_ok, last_failure = _when(seen.get("last_ok")), _when(seen.get("last_failure"))
        pending, failed = backlog.get(channel.name, (0, 0))
        rows.append({
            "name": channel.name, "kind": channel.kind, "target": display_target(channel),
            "enabled": channel.enabled, "last_attempt": _when(seen.get("last_attempt")), "last_ok": last_ok,
            "last_failure": last_failure, "last_reason": seen.get("last_reason", "") if last_failure else "",
            "sent_24h": int(seen.get("sent_24h", 0)), "failures_24h": int(seen.get("failures_24h", 0)),
            "pending": int(pending), "failed": int(failed),
            "failing": last_failure is not None and (last_ok is None or last_failure > last_ok),
        })
    return rows


def recent_attempts(client: Client, limit: int = 100) -> list[dict[str, Any]]:
    result = client.query(RECENT_ATTEMPTS, parameters={"limit": limit})
    return [{**dict(zip(result.column_names, row, strict=True)), "at": clock.shanghai(row[0])}
            for row in result.result_rows]
