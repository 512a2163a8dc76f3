"""Time helpers shared by the detector SQL.

The embedded engine's session time zone is UTC and clickhouse-connect renders an
aware datetime parameter in a form DateTime cannot parse, so times travel to SQL
as epoch seconds (`toDateTime({start:Int64}, 'Asia/Shanghai')`) and come back to
Python as aware datetimes that we convert to Shanghai wall-clock time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from odwatch.settings import TIMEZONE

SHANGHAI = ZoneInfo(TIMEZONE)


def shanghai(moment: datetime) -> datetime:
    """An aware datetime in Shanghai time (naive input is taken as Shanghai wall-clock time)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI)


def epoch(moment: datetime) -> int:
    return int(shanghai(moment).timestamp())


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI)


def floor_to_day(moment: datetime) -> datetime:
    return day_start(shanghai(moment).date())


def day_window(day: date) -> tuple[datetime, datetime]:
    return day_start(day), day_start(day + timedelta(days=1))


def now() -> datetime:
    return datetime.now(SHANGHAI)
