"""Burst: a consumer's hourly volume against its own trailing baseline, its peers' busy hour or an
absolute limit; the score on hand-built frames, then the detector on the engine.
"""

from datetime import date, datetime, timedelta

import polars as pl
from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.base import Window
from detectors.burst import BurstDetector
from detectors.messages import alert_title
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

def busy_hour(hour: int, calls: int, *, two_hours: int | None = None, median: int = 12, mad: float = 2.0,
              prior_days: int = 7, own_hours: int = 0, own_median: float = 0, peer_days: int = 0,
              peer_busy_hour: float = 0) -> dict:
    """A consumer's busy hour on DAY, with the baseline of its previous days, its hours so far (today's
    included) and its peers' busy hour."""
    return {"consumer_id": "steady", "hour": datetime(2026, 3, 10, hour, tzinfo=SHANGHAI), "day": DAY,
            "calls": calls, "two_hour_calls": calls if two_hours is None else two_hours,
            "rows_taken": calls * 10, "errors": 0, "prior_days": prior_days, "prior_hours": 63,
            "median_calls": median, "mad": mad, "own_hours": own_hours, "own_median": own_median,
            "own_mad": 1.0, "peer_group": "company", "peer_days": peer_days, "peer_busy_hour": peer_busy_hour}


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


def test_without_history_a_consumer_is_judged_against_its_peers_busy_hour():
    # Two days of history only: the peers' usual busiest hour (20) × 6 = 120 is the floor: 400 calls burst.
    [alert] = score(busy_hour(20, 400, prior_days=2, peer_days=500, peer_busy_hour=20))
    assert alert.message == "alerts.burst.peers" and alert.evidence["baseline"] == "peers"
    assert alert.evidence["peer_busy_hour"] == 20 and alert.evidence["peer_group"] == "company"
    assert alert.severity == "high" and alert.score == round(400 / 120, 3)
    assert alert_title(alert.as_row(), "en") == (
        "steady, with too little history, made 400 calls an hour, 20.0× its peers' busy hour (20)")
    # Heavy peers raise the floor: 400 is under six times their busiest hour of 250.
    assert score(busy_hour(20, 400, prior_days=2, peer_days=500, peer_busy_hour=250)) == []


def test_a_newcomer_steady_from_its_first_hours_sets_its_own_level():
    # A health check calling every minute from day one: 60 calls in each of its 30 hours so far.
    steady = busy_hour(20, 60, prior_days=0, own_hours=30, own_median=60, peer_days=500, peer_busy_hour=5)
    assert score(steady) == []
    # The same peers, but a newcomer with a habit of 3 calls an hour that suddenly pulls 100.
    [alert] = score(busy_hour(20, 100, prior_days=0, own_hours=9, own_median=3, peer_days=500,
                              peer_busy_hour=5))
    assert alert.evidence["own_hours_so_far"] == 9 and alert.evidence["burst_floor"] == 40


def test_without_history_or_peers_the_absolute_limit_decides():
    assert score(busy_hour(20, 250, prior_days=0)) == []
    [alert] = score(busy_hour(20, 350, prior_days=0))
    assert alert.evidence["baseline"] == "absolute" and alert.evidence["burst_floor"] == 300

def test_the_hours_of_one_day_make_one_alert_in_time_order():
    [alert] = score(busy_hour(15, 300), busy_hour(11, 200), busy_hour(12, 50))
    assert [h["hour"][-5:] for h in alert.evidence["burst_hours"]] == ["11:00", "15:00"]
    assert alert_title(alert.as_row(), "en") == "steady made 300 calls an hour, 25× its usual 12"


def test_an_empty_frame_is_quiet():
    assert BurstDetector().score(pl.DataFrame()) == []


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

FIRST = date(2026, 3, 2)
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
