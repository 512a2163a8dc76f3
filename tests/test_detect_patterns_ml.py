"""ML outlier: the PyOD ensemble flags the hour unusual on several features and explains it."""

import random
from datetime import date

from detect_patterns_support import add_datasets, at, event, insert, whole_days

from detectors.ml_outlier import MlOutlierDetector

DAY = date(2026, 3, 10)
AGENTS = ["python-requests/2.31", "Mozilla/5.0 Chrome/120", "okhttp/4.12", "curl/8.4"]


def _population(seed: int = 3) -> list[list]:
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


def _odd_hour() -> list[list]:
    rnd = random.Random(5)
    return [event(at(DAY, 14, n * 2), "odd", "d1", client_ip="10.0.99.1", bytes_=rnd.randint(50_000, 70_000),
                  rows=15, latency_ms=rnd.randint(900, 2000), user_agent="harvester/0.1",
                  endpoint=f"/api/v1/export/{n % 12}") for n in range(25)]


def test_the_odd_hour_is_flagged_with_the_features_that_drove_it(client):
    add_datasets(client, [("d1", "a1", "conditional", 10_000)])
    insert(client, _population() + _odd_hour())
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
    insert(client, _population())
    assert MlOutlierDetector().run(client, whole_days(DAY, DAY, MlOutlierDetector.lookback)) == []
