"""Probing: refusals over many datasets without rights (a repeated refusal is not probing); the
score on hand-built frames, then the detector on the engine.
"""

from datetime import date, datetime

import polars as pl
from detect_patterns_support import at, daytime_habit, event, insert, whole_days

from detectors.messages import alert_title
from detectors.probing import ProbingDetector
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

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


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

ATTACKS = ["' OR 1=1 --", "1 UNION SELECT password FROM users", "../../etc/passwd",
           "<script>alert(1)</script>"]


def test_refusals_over_many_datasets_are_flagged(client):
    insert(client, daytime_habit("lawful", DAY, 1, per_hour=40))
    # A lawful user with a typo: a few 404s among many good calls.
    insert(client, [event(at(DAY, 12, n), "lawful", "d9", status=404) for n in range(10)])
    probes = [event(at(DAY, 3, n // 2, n % 2 * 30), "prober", f"d{n % 8}", status=403 if n % 4 else 200,
                    client_ip="198.51.100.23", params={"q": ATTACKS[n % 4] if n % 5 == 0 else "x"})
              for n in range(60)]
    insert(client, probes)
    alerts = ProbingDetector().run(client, whole_days(DAY, DAY))
    assert [(a.consumer_id, a.client_ip) for a in alerts] == [("prober", "198.51.100.23")]
    ev = alerts[0].evidence
    assert (ev["calls"], ev["status_403"], ev["datasets_refused"]) == (60, 45, 6)
    assert ev["error_share"] == 0.75
    assert sum(c for _, c in ev["per_minute"]) == 60
    assert ProbingDetector().run(client, whole_days(DAY, DAY))[0].alert_id == alerts[0].alert_id


def test_refused_visitors_downloads_and_a_broken_client_are_not_probing(client):
    # Anonymous visitors refused on a conditional dataset a few times: not probing.
    insert(client, [event(at(DAY, 10, n), "", "dc", client_ip=f"10.0.{n}.1", status=401) for n in range(30)])
    insert(client, [event(at(DAY, 10, n), "", "du", client_ip="8.8.8.8", channel="download", rows=5000)
                    for n in range(30)])
    # A broken integration asking 300 times a day for one withdrawn id, every call 404.
    insert(client, [event(at(DAY, 8 + n // 30, n % 30, 5), "broken", "gone", status=404, rows=0)
                    for n in range(300)])
    assert ProbingDetector().run(client, whole_days(DAY, DAY)) == []
