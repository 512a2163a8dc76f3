"""Off-hours bulk's score on hand-built frames: a daytime consumer's night or holiday pull."""

from datetime import date, datetime

import polars as pl

from detectors.off_hours import OffHoursBulkDetector
from odwatch.clock import SHANGHAI, day_window

NIGHT = date(2026, 3, 10)
NATIONAL_DAY = date(2026, 10, 2)


def consumer_day(day: date, *, night_rows: int = 0, night_bulk_calls: int = 0, day_rows: int | None = None,
                 day_bulk_calls: int | None = None, night_share: float = 0.02, usual_rows: int = 10_000,
                 holiday: bool = False, prior_days: int = 20) -> dict:
    return {"consumer_id": "daytime", "day": day, "holiday": int(holiday),
            "day_rows": night_rows if day_rows is None else day_rows, "day_calls": 60,
            "day_bulk_calls": night_bulk_calls if day_bulk_calls is None else day_bulk_calls,
            "night_rows": night_rows, "night_calls": night_bulk_calls, "night_bulk_calls": night_bulk_calls,
            "downloads": 0, "night_downloads": 0, "bulk_datasets": ["d2"],
            "first_seen": datetime.combine(day, datetime.min.time(), SHANGHAI),
            "last_seen": datetime.combine(day, datetime.max.time(), SHANGHAI),
            "usual_rows": usual_rows, "usual_calls": 300, "night_share": night_share,
            "prior_days": prior_days}


def score(*rows: dict, **params) -> list:
    return OffHoursBulkDetector(**params).score(pl.DataFrame(list(rows)))


def test_a_night_pull_as_large_as_a_usual_working_day_is_flagged():
    [alert] = score(consumer_day(NIGHT, night_rows=30_000, night_bulk_calls=20))
    # Strength: 30000 rows / 10000 usual / night factor 1.
    assert alert.severity == "high" and alert.score == 3.0
    assert (alert.consumer_id, alert.dataset_id) == ("daytime", "d2")
    assert (alert.window_start, alert.window_end) == day_window(NIGHT)
    evidence = alert.evidence
    assert evidence["when"] == "night" and evidence["times_usual_rows"] == 3.0
    assert evidence["statutory_holiday"] is False and evidence["usual_working_day_rows"] == 10_000


def test_small_night_takes_night_workers_and_newcomers_stay_quiet():
    assert score(consumer_day(NIGHT, night_rows=8_000, night_bulk_calls=20)) == []       # under a usual day
    assert score(consumer_day(NIGHT, night_rows=30_000, night_bulk_calls=5)) == []       # one file or so
    assert score(consumer_day(NIGHT, night_rows=30_000, night_bulk_calls=20, night_share=0.4)) == []
    assert score(consumer_day(NIGHT, night_rows=30_000, night_bulk_calls=20, prior_days=3)) == []


def test_a_holiday_pull_must_be_several_usual_days():
    daytime_pull = {"night_rows": 0, "night_bulk_calls": 0, "day_bulk_calls": 30, "holiday": True}
    assert score(consumer_day(NATIONAL_DAY, day_rows=25_000, **daytime_pull)) == []       # 2.5 days
    [alert] = score(consumer_day(NATIONAL_DAY, day_rows=50_000, **daytime_pull))
    assert alert.severity == "medium" and alert.score == round(5 / 3, 3)
    assert alert.evidence["statutory_holiday"] is True and alert.evidence["holiday"]
    assert alert.evidence["when"] == "holiday"
