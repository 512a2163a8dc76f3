"""Working days on the statutory calendar, and the fallback beyond it."""

from datetime import date

from odwatch.calendar import add_working_days, is_working_day, working_days_between


def test_national_day_week_2025_counts_no_working_days():
    # 1–8 October 2025 are holidays; 9 October is the first working day after them.
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 8)) == (0, False)
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == (1, False)


def test_make_up_saturday_and_sunday_count_as_working_days():
    # Sunday 28 September and Saturday 11 October 2025 are make-up working days.
    assert is_working_day(date(2025, 9, 28)) == (True, False)
    assert working_days_between(date(2025, 9, 26), date(2025, 9, 28)) == (1, False)
    assert working_days_between(date(2025, 10, 10), date(2025, 10, 11)) == (1, False)
    # An ordinary Saturday does not count.
    assert working_days_between(date(2025, 9, 19), date(2025, 9, 20)) == (0, False)


def test_counting_starts_the_day_after_acceptance():
    assert working_days_between(date(2025, 11, 3), date(2025, 11, 3)) == (0, False)
    assert working_days_between(date(2025, 11, 3), date(2025, 11, 10)) == (5, False)
    assert working_days_between(date(2025, 11, 3), date(2025, 11, 11)) == (6, False)


def test_a_year_beyond_the_calendar_falls_back_to_weekdays_and_is_flagged():
    # 2026-12-30 (Wed) -> 2027-01-06 (Wed): Thu, Fri 2026 from the calendar; Mon–Wed 2027 guessed.
    days, estimated = working_days_between(date(2026, 12, 30), date(2027, 1, 6))
    assert estimated is True
    assert days == 2 + 3
    assert working_days_between(date(2027, 3, 1), date(2027, 3, 8)) == (5, True)
    assert is_working_day(date(2027, 3, 6)) == (False, True)


def test_deadline_five_working_days_after_acceptance_skips_the_holiday():
    # 9, 10, 11 (make-up Saturday), 13, 14 October
    assert add_working_days(date(2025, 9, 30), 5) == (date(2025, 10, 14), False)
    assert add_working_days(date(2026, 12, 31), 5)[1] is True
