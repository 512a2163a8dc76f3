"""Burst's score on hand-built frames: a consumer's hour against its own baseline, no engine."""

from datetime import date, datetime

import polars as pl

from detectors.burst import BurstDetector
from detectors.messages import alert_title
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


def busy_hour(hour: int, calls: int, *, two_hours: int | None = None, median: int = 12, mad: float = 2.0,
              prior_days: int = 7) -> dict:
    """A consumer's busy hour on DAY, with the baseline of its previous days."""
    return {"consumer_id": "steady", "hour": datetime(2026, 3, 10, hour, tzinfo=SHANGHAI), "day": DAY,
            "calls": calls, "two_hour_calls": calls if two_hours is None else two_hours,
            "rows_taken": calls * 10, "errors": 0, "prior_days": prior_days, "prior_hours": 63,
            "median_calls": median, "mad": mad}


def score(*hours: dict, **params) -> list:
    return BurstDetector(**params).score(pl.DataFrame(list(hours)))


def test_an_hour_far_above_the_usual_one_is_a_burst_graded_by_how_far():
    # The floor is max(8 × 12, 12 + 6 × 2) = 96 calls; 400 is 33× the usual hour, 4.2× the ratio.
    [alert] = score(busy_hour(20, 400))
    assert (alert.consumer_id, alert.category, alert.article) == ("steady", "burst", "第三十条")
    assert (alert.window_start, alert.window_end) == day_window(DAY)
    assert alert.severity == "critical" and alert.score == round(400 / 12 / 8, 3)
    assert alert.evidence["burst_hours"] == [{"hour": "2026-03-10 20:00", "calls": 400,
                                              "calls_with_hour_before": 400, "rows": 4000, "errors": 0,
                                              "times_baseline": 33.3}]
    assert alert.evidence["baseline_median_calls_per_active_hour"] == 12
    assert alert.evidence["baseline_days"] == 7 and alert.evidence["thresholds"]["ratio"] == 8.0


def test_just_over_the_floor_is_low_and_just_under_is_quiet():
    assert score(busy_hour(20, 95)) == []
    [alert] = score(busy_hour(20, 100))
    assert alert.severity == "low" and alert.score == round(100 / 12 / 8, 3)


def test_a_burst_straddling_two_clock_hours_counts_both():
    [alert] = score(busy_hour(21, 120, two_hours=240), min_calls=150)
    assert alert.evidence["peak_calls_per_hour"] == 120.0
    assert score(busy_hour(21, 120, two_hours=180), min_calls=150) == []


def test_no_baseline_no_burst():
    assert score(busy_hour(20, 400, prior_days=2)) == []
    assert score(busy_hour(20, 400, prior_days=2), min_prior_days=2) != []


def test_the_hours_of_one_day_make_one_alert_in_time_order():
    [alert] = score(busy_hour(15, 300), busy_hour(11, 200), busy_hour(12, 50))
    assert [h["hour"][-5:] for h in alert.evidence["burst_hours"]] == ["11:00", "15:00"]
    assert alert_title(alert.as_row(), "en") == "steady made 300 calls an hour, 25× its usual 12"


def test_an_empty_frame_is_quiet():
    assert BurstDetector().score(pl.DataFrame()) == []
