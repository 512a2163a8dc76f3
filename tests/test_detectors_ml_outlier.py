"""The ML ensemble's score on hand-built frames: PyOD fitted on the frame, the odd hour explained."""

import random
from datetime import date, datetime, timedelta

import polars as pl

from detectors.ml_outlier import FEATURES, MlOutlierDetector
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


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
