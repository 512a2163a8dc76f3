"""Off-hours bulk: night pulls and statutory-holiday pulls by daytime consumers."""

from datetime import date

from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.off_hours import OffHoursBulkDetector, statutory_holidays

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
