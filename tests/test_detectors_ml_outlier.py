"""The ML outlier ensemble: PyOD fitted on the entity-hours, the hour unusual on several features
flagged and explained; the score on hand-built frames, then the detector on the engine.
"""

import random
from datetime import date, datetime, timedelta

import polars as pl
from detect_patterns_support import add_datasets, at, event, insert, whole_days

from detectors.ml_outlier import FEATURES, MlOutlierDetector
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

def entity_hour(consumer: str, hour: datetime, rnd: random.Random, **odd) -> dict:
    """An ordinary entity-hour, or one made odd on the features given."""
    calls = odd.pop("calls", rnd.randint(5, 40))
    row = {"consumer": consumer, "anon_ip": "", "hour": hour, "calls": calls,
           "bytes_per_row": rnd.uniform(150, 250), "endpoints": rnd.randint(1, 2), "datasets": 1,
           "rare_agent_share": 0.0, "slow_share": rnd.choice([0.0, 0.0, 0.0, 1 / calls]),
           "error_share": rnd.choice([0.0, 0.0, 1 / calls]), "non_get_share": 0.0,
           "in_run": hour.date() == DAY, "only_dataset": "d1", "only_ip": ""}
    return {**row, **odd}


def population(seed: int = 3) -> list[dict]:
    """Thirty consumers over the working hours of three days (DAY is the day the run reports on)."""
    rnd = random.Random(seed)
    start = datetime(2026, 3, 8, 9, tzinfo=SHANGHAI)
    return [entity_hour(f"c{c}", start + timedelta(days=d, hours=h), rnd)
            for c in range(30) for d in range(3) for h in range(8)]


ODD = {"calls": 25, "bytes_per_row": 4000.0, "endpoints": 12, "rare_agent_share": 1.0, "slow_share": 0.8,
       "only_ip": "10.0.99.1"}


def score(rows: list[dict], **params) -> list:
    return MlOutlierDetector(**params).score(pl.DataFrame(rows))


def test_the_hour_odd_on_several_features_is_flagged_with_its_drivers():
    odd = entity_hour("odd", datetime(2026, 3, 10, 14, tzinfo=SHANGHAI), random.Random(1), **ODD)
    [alert] = score(population() + [odd])
    # Its one dataset and its one address are named.
    assert (alert.consumer_id, alert.dataset_id, alert.client_ip) == ("odd", "d1", "10.0.99.1")
    assert (alert.window_start, alert.window_end) == day_window(DAY)
    assert alert.score >= 2.5 and alert.severity in ("low", "medium", "high", "critical")
    evidence = alert.evidence
    assert evidence["top_hour"] == "2026-03-10 14:00" and evidence["calls"] == 25
    assert [h["hour"] for h in evidence["hours"]] == ["2026-03-10 14:00"]
    explained = {e["feature"]: e for e in evidence["top_hour_explanation"]}
    assert set(explained) == set(FEATURES)
    drivers = {name for name, e in explained.items() if e["driver"]}
    assert {"bytes_per_row", "endpoints", "rare_agent_share", "slow_share"} <= drivers
    assert explained["endpoints"]["value"] == 12 and explained["bytes_per_row"]["times_median"] > 15
    assert evidence["population_entity_hours"] == 30 * 3 * 8 + 1


def test_severity_follows_the_score_over_min_score():
    odd = entity_hour("odd", datetime(2026, 3, 10, 14, tzinfo=SHANGHAI), random.Random(1), **ODD)
    [alert] = score(population() + [odd], min_score=1.0)
    expected = "critical" if alert.score >= 4 else "high" if alert.score >= 2 else "medium"
    assert alert.severity == expected


def test_quiet_when_the_odd_hour_is_only_history_or_odd_on_too_few_aspects():
    history = entity_hour("odd", datetime(2026, 3, 9, 14, tzinfo=SHANGHAI), random.Random(1), **ODD)
    assert score(population() + [history]) == []
    two_aspects = entity_hour("odd", datetime(2026, 3, 10, 14, tzinfo=SHANGHAI), random.Random(1),
                              calls=25, bytes_per_row=4000.0, endpoints=12)
    assert score(population() + [two_aspects]) == []


def test_too_small_a_population_is_not_judged():
    odd = entity_hour("odd", datetime(2026, 3, 10, 14, tzinfo=SHANGHAI), random.Random(1), **ODD)
    assert score(population()[:40] + [odd]) == []


def test_the_same_frame_in_another_order_gives_the_same_alert():
    odd = entity_hour("odd", datetime(2026, 3, 10, 14, tzinfo=SHANGHAI), random.Random(1), **ODD)
    rows = population() + [odd]
    [first] = score(rows)
    [again] = score(list(reversed(rows)))
    assert (again.alert_id, again.score) == (first.alert_id, first.score)


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

AGENTS = ["python-requests/2.31", "Mozilla/5.0 Chrome/120", "okhttp/4.12", "curl/8.4"]


def logged_population(seed: int = 3) -> list[list]:
    """Twenty ordinary consumers and one heavy one, working hours over three days, with some noise."""
    rnd = random.Random(seed)
    events = []
    for c in range(21):
        per_hour = 150 if c == 20 else rnd.randint(5, 15)
        for day in (date(2026, 3, 8), date(2026, 3, 9), DAY):
            for hour in range(9, 17):
                events += [event(at(day, hour, rnd.randrange(60)), f"c{c}", f"d{c % 4}",
                                 client_ip=f"10.0.{c}.1", bytes_=rnd.randint(1500, 4000),
                                 rows=rnd.randint(5, 20),
                                 latency_ms=rnd.randint(20, 120), user_agent=AGENTS[c % 4],
                                 endpoint=f"/api/v1/{rnd.choice(['query', 'detail'])}",
                                 status=404 if rnd.random() < 0.03 else 200)
                           for _ in range(per_hour)]
    return events


def logged_odd_hour() -> list[list]:
    rnd = random.Random(5)
    return [event(at(DAY, 14, n * 2), "odd", "d1", client_ip="10.0.99.1", bytes_=rnd.randint(50_000, 70_000),
                  rows=15, latency_ms=rnd.randint(900, 2000), user_agent="harvester/0.1",
                  endpoint=f"/api/v1/export/{n % 12}") for n in range(25)]


def test_the_odd_hour_is_flagged_with_the_features_that_drove_it(client):
    add_datasets(client, [("d1", "a1", "conditional", 10_000)])
    insert(client, logged_population() + logged_odd_hour())
    alerts = MlOutlierDetector().run(client, whole_days(DAY, DAY, MlOutlierDetector.lookback))
    assert [(a.consumer_id, a.dataset_id, a.agency_id) for a in alerts] == [("odd", "d1", "a1")]
    ev = alerts[0].evidence
    assert ev["hours"][0]["hour"] == "2026-03-10 14:00" and ev["hours"][0]["calls"] == 25
    drivers = {e["feature"]: e for e in ev["top_hour_explanation"] if e["driver"]}
    assert {"bytes_per_row", "endpoints", "rare_agent_share", "slow_share"} <= set(drivers)
    assert drivers["endpoints"]["value"] == 12 and drivers["endpoints"]["population_median"] <= 2
    assert drivers["bytes_per_row"]["times_median"] > 15 and drivers["bytes_per_row"]["robust_z"] > 3.5
    assert ev["user_agents"] == ["harvester/0.1"]
    assert alerts[0].score >= 3.0
    again = MlOutlierDetector().run(client, whole_days(DAY, DAY, MlOutlierDetector.lookback))
    assert [(a.alert_id, a.score) for a in again] == [(a.alert_id, a.score) for a in alerts]


def test_heavy_lawful_consumer_alone_stays_quiet(client):
    insert(client, logged_population())
    assert MlOutlierDetector().run(client, whole_days(DAY, DAY, MlOutlierDetector.lookback)) == []


def test_a_web_server_log_without_row_counts_has_no_bytes_per_row_to_stand_out_on(client):
    """A nightly mirror in a web server's log: big files, rows not recorded. Its bytes are not rows."""
    insert(client, logged_population())
    mirror = [event(at(DAY, 2, n), "", "", client_ip="159.226.251.20", rows=0, bytes_=40_000_000,
                    user_agent="Wget/1.21.4", endpoint=f"/dataset/d{n}/download/full.csv") for n in range(30)]
    insert(client, mirror)
    frame = MlOutlierDetector().features(client, whole_days(DAY, DAY, MlOutlierDetector.lookback))
    mirror_hour = frame.filter(pl.col("anon_ip") == "159.226.251.20")
    assert mirror_hour["bytes_per_row"].to_list() == [0.0]
    assert MlOutlierDetector().run(client, whole_days(DAY, DAY, MlOutlierDetector.lookback)) == []
