"""Time in the platform's zone, Asia/Shanghai: the one place that says what "now" and "today" are.

The embedded engine's session zone is UTC and clickhouse-connect renders an aware datetime
parameter in a form DateTime cannot parse, so detector SQL takes times as epoch seconds
(`toDateTime({start:Int64}, 'Asia/Shanghai')`); values coming back are converted here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TIMEZONE = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TIMEZONE)


def now() -> datetime:
    """The current moment, aware, on the Shanghai wall clock."""
    return datetime.now(SHANGHAI)


def today() -> date:
    """Today's date in Shanghai."""
    return now().date()


def shanghai(moment: datetime) -> datetime:
    """An aware datetime in Shanghai time (naive input is taken as Shanghai wall-clock time)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI)


def epoch(moment: datetime) -> int:
    """Seconds since the epoch, for `toDateTime({x:Int64}, 'Asia/Shanghai')` parameters."""
    return int(shanghai(moment).timestamp())


def day_start(day: date) -> datetime:
    """Midnight of a Shanghai day."""
    return datetime.combine(day, time(0), SHANGHAI)


def day_window(day: date) -> tuple[datetime, datetime]:
    """A Shanghai day as a half-open range [midnight, next midnight)."""
    return day_start(day), day_start(day + timedelta(days=1))


def floor_to_day(moment: datetime) -> datetime:
    """The Shanghai midnight at or before a moment."""
    return day_start(shanghai(moment).date())


def iso(moment: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` on the Shanghai wall clock, for evidence a person reads."""
    return shanghai(moment).strftime("%Y-%m-%d %H:%M:%S")


def now_ms() -> datetime:
    """`now()` cut to whole milliseconds, as DateTime64(3) columns store it (so a value read back
    compares equal to the one written)."""
    moment = now()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
