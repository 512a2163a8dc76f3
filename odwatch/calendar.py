"""The Chinese statutory calendar: working days (第十九条: review within 5 working days) and holidays.

chinesecalendar knows the holidays and the make-up working Saturdays/Sundays of the
years it ships (2004–2026 for 1.11) and raises NotImplementedError for any other
year. A figure touching such a year falls back to Monday–Friday and is flagged as
estimated, so a report never crashes on a date the calendar has not published yet.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import chinese_calendar

SLA_WORKING_DAYS = 5


@cache
def is_working_day(day: date) -> tuple[bool, bool]:
    """(working day?, estimated?) for one date.

    Cached: chinesecalendar checks each date against the bounds of its tables, which costs
    more than the lookup itself when a report counts thousands of days.
    """
    try:
        return chinese_calendar.is_workday(day), False
    except NotImplementedError:
        return day.weekday() < 5, True


def working_days_between(accepted: date, decided: date) -> tuple[int, bool]:
    """Working days strictly after `accepted` up to and including `decided`, and whether estimated.

    "Within 5 working days after acceptance" starts counting the day after acceptance.
    A decision on the acceptance day is 0. Days outside the calendar's years count
    Monday–Friday and make the figure estimated.
    """
    days = 0
    estimated = False
    day = accepted + timedelta(days=1)
    while day <= decided:
        working, guessed = is_working_day(day)
        days += working
        estimated = estimated or guessed
        day += timedelta(days=1)
    return days, estimated


def add_working_days(start: date, count: int) -> tuple[date, bool]:
    """The date `count` working days after `start` (the deadline), and whether estimated."""
    day = start
    estimated = False
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        working, guessed = is_working_day(day)
        estimated = estimated or guessed
        remaining -= working
    return day, estimated


def is_statutory_holiday(day: date) -> bool:
    """A named public holiday (not an ordinary weekend); False outside the calendar's years."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return False
    return bool(on_holiday and name)


def holiday_name(day: date) -> str:
    """The holiday a date belongs to (also for its make-up working days); '' when none or unknown."""
    try:
        _, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return ""
    return name or ""


def statutory_holidays(first: date, last: date) -> list[date]:
    """Statutory holidays (not ordinary weekends) between two dates, within the calendar's years."""
    lo = max(first, date(2004, 1, 1))
    hi = min(last, date(2026, 12, 31))
    if lo > hi:
        return []
    return chinese_calendar.get_holidays(lo, hi, include_weekends=False)
