"""Off-hours bulk: night pulls and statutory-holiday pulls by daytime consumers."""

from datetime import date

from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.off_hours import OffHoursBulkDetector, statutory_holidays

FIRST = date(2026, 4, 13)
NIGHT = date(2026, 4, 29)
HOLIDAY = date(2026, 5, 2)       # Labour Day


def _platform(client):
    add_datasets(client, [("d1", "a1", "conditional", 90_000)])
    # 20 calls x 10 rows in each of 9 daytime hours: a usual working day is 1,800 rows.
    insert(client, daytime_habit("worker", FIRST, 19, per_hour=20, skip_holidays=True)
           + daytime_habit("heavy", FIRST, 19, per_hour=200, skip_holidays=True)
           # Lawful holiday traffic: the same people, quieter, in the daytime.
           + daytime_habit("worker", HOLIDAY, 3, per_hour=8)
           + daytime_habit("heavy", HOLIDAY, 3, per_hour=150))


def test_statutory_holidays_leave_out_ordinary_weekends():
    assert statutory_holidays(date(2026, 4, 25), date(2026, 5, 6)) == [date(2026, 5, d) for d in range(1, 6)]


def test_night_and_holiday_bulk_pulls_are_flagged_and_lawful_holiday_traffic_is_not(client):
    _platform(client)
    assert OffHoursBulkDetector().run(client, whole_days(NIGHT, date(2026, 5, 4))) == []
    insert(client, [event(at(NIGHT, 2, n // 20, n % 20), "worker", "d1", rows=10, channel="download")
                    for n in range(700)])
    insert(client, [event(at(HOLIDAY, 14, n // 60, n % 60), "worker", "d1", rows=10) for n in range(3000)])
    alerts = OffHoursBulkDetector().run(client, whole_days(NIGHT, date(2026, 5, 4)))
    got = {(a.consumer_id, a.dataset_id, a.agency_id, a.window_start.date()): a for a in alerts}
    assert set(got) == {("worker", "d1", "a1", NIGHT), ("worker", "d1", "a1", HOLIDAY)}
    night = got[("worker", "d1", "a1", NIGHT)].evidence
    assert (night["night_rows"], night["night_downloads"]) == (7000, 700)
    assert night["usual_working_day_rows"] == 1800
    assert night["off_hours"] == [{"hour": "02:00", "calls": 700, "rows": 7000}]
    assert night["statutory_holiday"] is False and night["own_night_share"] == 0
    holiday = got[("worker", "d1", "a1", HOLIDAY)].evidence
    assert holiday["holiday"] == "Labour Day" and holiday["day_rows"] == 30_000 + 720
    assert sum(c for _, c in holiday["per_minute"]) == 3072
    rerun = OffHoursBulkDetector().run(client, whole_days(NIGHT, date(2026, 5, 4)))
    assert sorted(a.alert_id for a in rerun) == sorted(a.alert_id for a in alerts)
