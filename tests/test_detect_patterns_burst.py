"""Burst: hourly volume against the consumer's own trailing baseline."""

from datetime import date, timedelta

from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.base import Window
from detectors.burst import BurstDetector

FIRST = date(2026, 3, 2)
DAY = date(2026, 3, 10)
LOOKBACK = BurstDetector.lookback


def _platform(client):
    add_datasets(client, [("d1", "a1", "conditional", 50_000), ("d2", "a2", "conditional", 9_000)])
    insert(client, daytime_habit("steady", FIRST, 9, per_hour=12)
           + daytime_habit("heavy", FIRST, 9, per_hour=150, dataset_id="d2"))   # heavy every day: lawful


def test_hour_far_above_own_baseline_is_flagged_with_hours_and_minutes(client):
    _platform(client)
    insert(client, [event(at(DAY, 20, n % 60, n // 60), "steady", "d1") for n in range(400)])
    alerts = BurstDetector().run(client, whole_days(DAY, DAY, LOOKBACK))
    assert [(a.consumer_id, a.dataset_id, a.agency_id) for a in alerts] == [("steady", "d1", "a1")]
    ev = alerts[0].evidence
    assert ev["baseline_median_calls_per_active_hour"] == 12
    assert ev["burst_hours"] == [{"hour": "2026-03-10 20:00", "calls": 400, "calls_with_hour_before": 400,
                                  "rows": 4000, "errors": 0, "times_baseline": 33.3}]
    assert ev["baseline_days"] == 7 and len(ev["per_minute"]) == 60
    assert ev["calls_by_client_ip"] == {"10.1.1.1": 400} and alerts[0].client_ip == "10.1.1.1"
    assert alerts[0].severity == "critical"


def test_burst_straddling_a_clock_hour_is_seen_over_two_hours(client):
    _platform(client)
    # 240 calls from 20:30 to 21:29: 120 in each clock hour, each under the 150-call floor set here.
    insert(client, [event(at(DAY, 20 + (30 + n // 4) // 60, (30 + n // 4) % 60, n % 4), "steady", "d1")
                    for n in range(240)])
    alerts = BurstDetector(min_calls=150).run(client, whole_days(DAY, DAY, LOOKBACK))
    assert [a.consumer_id for a in alerts] == ["steady"]
    hours = alerts[0].evidence["burst_hours"]
    assert [(h["hour"], h["calls"], h["calls_with_hour_before"]) for h in hours] == [
        ("2026-03-10 21:00", 120, 240)]


def test_a_newcomer_is_judged_against_its_peers_and_the_heavy_steady_user_stays_quiet(client):
    _platform(client)
    for peer in range(5):
        insert(client, daytime_habit(f"small{peer}", FIRST, 9, per_hour=5, dataset_id="d2"))
    # No history at all: 500 calls in one hour; the peers' usual busiest hour of a day is 5 calls.
    insert(client, [event(at(DAY, 11, n % 60), "newcomer", "d1") for n in range(500)])
    [alert] = BurstDetector().run(client, whole_days(DAY, DAY, LOOKBACK))
    assert alert.consumer_id == "newcomer" and alert.evidence["baseline"] == "peers"
    assert alert.evidence["peer_busy_hour"] == 5 and alert.evidence["burst_floor"] == 40
    assert alert.severity == "critical"


def test_refused_calls_a_broken_client_and_a_day_one_health_check_are_not_bursts(client):
    _platform(client)
    # 300 calls a day for one withdrawn id, every one refused: nothing delivered, nothing pulled.
    insert(client, [event(at(DAY, 11, n % 60, n // 60), "broken", "gone", status=404, rows=0)
                    for n in range(300)])
    # A monitoring client calling once a minute from its first day on.
    insert(client, [event(at(DAY - timedelta(days=1), 0) + timedelta(minutes=m), "monitor", "d1", rows=1)
                    for m in range(2 * 24 * 60)])
    assert BurstDetector().run(client, whole_days(DAY, DAY, LOOKBACK)) == []


def test_rerun_and_incremental_run_give_the_same_alert_id(client):
    _platform(client)
    insert(client, [event(at(DAY, 20, n % 60, n // 60), "steady", "d1") for n in range(400)])
    everything = whole_days(FIRST, DAY + timedelta(days=1), LOOKBACK)
    full = [a.alert_id for a in BurstDetector().run(client, everything)]
    again = [a.alert_id for a in BurstDetector().run(client, everything)]
    one_hour = Window(at(DAY, 20), at(DAY, 21)).widened(LOOKBACK)
    hourly = [a.alert_id for a in BurstDetector().run(client, one_hour)]
    assert len(full) == 1 and full == again == hourly
