"""Off-hours bulk: a daytime consumer's night pull or statutory-holiday pull; the score on hand-built
frames, then the detector on the engine.
"""

from datetime import date, datetime

import polars as pl
from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.off_hours import OffHoursBulkDetector, statutory_holidays
from odwatch.clock import SHANGHAI, day_window

# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

WORKDAY = date(2026, 3, 10)
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
    [alert] = score(consumer_day(WORKDAY, night_rows=30_000, night_bulk_calls=20))
    # Strength: 30000 rows / 10000 usual / night factor 1.
    assert alert.severity == "high" and alert.score == 3.0
    assert (alert.consumer_id, alert.dataset_id) == ("daytime", "d2")
    assert (alert.window_start, alert.window_end) == day_window(WORKDAY)
    evidence = alert.evidence
    assert evidence["when"] == "night" and evidence["times_usual_rows"] == 3.0
    assert evidence["statutory_holiday"] is False and evidence["usual_working_day_rows"] == 10_000


def test_small_night_takes_night_workers_and_newcomers_stay_quiet():
    assert score(consumer_day(WORKDAY, night_rows=8_000, night_bulk_calls=20)) == []       # under a usual day
    assert score(consumer_day(WORKDAY, night_rows=30_000, night_bulk_calls=5)) == []       # one file or so
    assert score(consumer_day(WORKDAY, night_rows=30_000, night_bulk_calls=20, night_share=0.4)) == []
    assert score(consumer_day(WORKDAY, night_rows=30_000, night_bulk_calls=20, prior_days=3)) == []


def test_a_holiday_pull_must_be_several_usual_days():
    daytime_pull = {"night_rows": 0, "night_bulk_calls": 0, "day_bulk_calls": 30, "holiday": True}
    assert score(consumer_day(NATIONAL_DAY, day_rows=25_000, **daytime_pull)) == []       # 2.5 days
    [alert] = score(consumer_day(NATIONAL_DAY, day_rows=50_000, **daytime_pull))
    assert alert.severity == "medium" and alert.score == round(5 / 3, 3)
    assert alert.evidence["statutory_holiday"] is True and alert.evidence["holiday"]
    assert alert.evidence["when"] == "holiday"


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

FIRST = date(2026, 4, 13)
NIGHT = date(2026, 4, 29)
HOLIDAY = date(2026, 5, 2)       # Labour Day
RUN = whole_days(NIGHT, date(2026, 5, 4), OffHoursBulkDetector.lookback)


def _platform(client):
    add_datasets(client, [("d1", "a1", "conditional", 90_000), ("d2", "a2", "unconditional", 50_000)])
    # 20 calls x 10 rows in each of 9 daytime hours: a usual working day is 1,800 rows.
    insert(client, daytime_habit("worker", FIRST, 19, per_hour=20, skip_holidays=True)
           + daytime_habit("heavy", FIRST, 19, per_hour=200, skip_holidays=True)
           # Lawful holiday traffic: the same people, quieter, in the daytime, one of them downloading a file.
           + daytime_habit("worker", HOLIDAY, 3, per_hour=8)
           + daytime_habit("heavy", HOLIDAY, 3, per_hour=150)
           + [event(at(HOLIDAY, 11), "worker", "d2", rows=50_000, channel="download")])


def _download(day, hour, minute, dataset_id, rows):
    return event(at(day, hour, minute), "worker", dataset_id, rows=rows, channel="download",
                 endpoint=f"/api/v1/datasets/{dataset_id}/download")


def test_statutory_holidays_leave_out_ordinary_weekends():
    assert statutory_holidays(date(2026, 4, 25), date(2026, 5, 6)) == [date(2026, 5, d) for d in range(1, 6)]


def test_night_and_holiday_bulk_pulls_are_flagged_and_lawful_holiday_traffic_is_not(client):
    _platform(client)
    assert OffHoursBulkDetector().run(client, RUN) == []
    insert(client, [_download(NIGHT, 2, n * 2, "d2", 5_000) for n in range(30)])
    insert(client, [_download(HOLIDAY, 14, n, ("d1", "d2")[n % 2], 8_000) for n in range(25)])
    alerts = OffHoursBulkDetector().run(client, RUN)
    got = {(a.consumer_id, a.window_start.date()): a for a in alerts}
    assert set(got) == {("worker", NIGHT), ("worker", HOLIDAY)}
    night = got[("worker", NIGHT)]
    assert (night.dataset_id, night.agency_id) == ("d2", "a2")
    ev = night.evidence
    assert (ev["night_rows"], ev["night_bulk_calls"], ev["night_downloads"]) == (150_000, 30, 30)
    assert ev["usual_working_day_rows"] == 1800 and ev["times_usual_rows"] == 83.3
    assert ev["hours"][0] == {"hour": "02:00", "calls": 30, "rows": 150_000}
    assert ev["statutory_holiday"] is False and ev["own_night_share"] == 0
    holiday = got[("worker", HOLIDAY)]
    assert holiday.dataset_id == "" and holiday.evidence["bulk_datasets"] == ["d1", "d2"]
    assert holiday.evidence["holiday"] == "Labour Day"
    assert holiday.evidence["day_rows"] == 25 * 8_000 + 50_000 + 720
    assert sum(c for _, c in holiday.evidence["per_minute"]) == 25 + 1 + 72
    rerun = OffHoursBulkDetector().run(client, RUN)
    assert sorted(a.alert_id for a in rerun) == sorted(a.alert_id for a in alerts)
