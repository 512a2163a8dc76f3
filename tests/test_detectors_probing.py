"""Probing's score on hand-built frames: refusals over many datasets without rights."""

from datetime import date, datetime

import polars as pl

from detectors.messages import alert_title
from detectors.probing import ProbingDetector
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


def entity_day(calls: int, refused: int, denied_datasets: int, *,
               consumer_id: str = "", ip: str = "198.51.100.7") -> dict:
    return {"consumer_id": consumer_id, "anon_ip": "" if consumer_id else ip, "day": DAY, "calls": calls,
            "client_errors": refused, "s401": 0, "s403": refused, "s404": 0, "datasets": denied_datasets + 1,
            "denied_datasets": denied_datasets, "some_denied": [f"d{n}" for n in range(denied_datasets)],
            "ips": 1, "some_ips": [ip], "first_seen": datetime(2026, 3, 10, 2, tzinfo=SHANGHAI),
            "last_seen": datetime(2026, 3, 10, 3, tzinfo=SHANGHAI)}


def score(*rows: dict, **params) -> list:
    return ProbingDetector(**params).score(pl.DataFrame(list(rows)))


def test_mostly_refused_calls_over_many_datasets_are_probing():
    [alert] = score(entity_day(40, 36, 6))
    # Strength: (0.9 / 0.5) × (6 / 3) = 3.6.
    assert alert.severity == "high" and alert.score == 3.6
    assert alert.client_ip == "198.51.100.7" and alert.consumer_id == ""
    assert (alert.window_start, alert.window_end) == day_window(DAY)
    evidence = alert.evidence
    assert evidence["error_share"] == 0.9 and evidence["datasets_refused"] == 6
    assert evidence["refused_dataset_ids"] == ["d0", "d1", "d2", "d3", "d4", "d5"]
    assert evidence["thresholds"]["min_denied_datasets"] == 3
    assert alert_title(alert.as_row(), "en") == (
        "anonymous 198.51.100.7 probing: 90% refused over 6 datasets without rights")


def test_few_refusals_few_datasets_or_few_calls_stay_quiet():
    assert score(entity_day(40, 10, 6)) == []          # a quarter refused
    assert score(entity_day(40, 36, 2)) == []          # only two datasets
    assert score(entity_day(10, 10, 6)) == []          # too few calls to judge


def test_a_broken_client_repeating_one_refused_call_is_not_probing():
    # 300 refusals a day, all 404 on one withdrawn id: nothing denied for want of rights, nothing explored.
    broken = entity_day(300, 300, 0, consumer_id="c9")
    assert score(broken) == []


def test_a_consumers_alert_names_its_one_address():
    [alert] = score(entity_day(40, 36, 6, consumer_id="c9"))
    assert alert.consumer_id == "c9" and alert.client_ip == "198.51.100.7"
