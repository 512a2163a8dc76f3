"""Key sharing: one credential used from many networks within an hour; the score on hand-built
frames, then the detector on the engine.
"""

from datetime import date, datetime, timedelta

import polars as pl
from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.key_sharing import KeySharingDetector
from detectors.messages import alert_title
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

def shared_window(minute: int, networks24: int, networks16: int, *, key_id: str = "k1",
                  datasets: tuple[str, ...] = ("d1",)) -> dict:
    """One sliding hour of a credential, seen from `networks24` /24s in `networks16` /16s."""
    opened = datetime(2026, 3, 10, 14, minute, tzinfo=SHANGHAI)
    prefixes = [f"10.{n % networks16}.{n}" for n in range(networks24)]
    return {"credential": key_id or "c1", "consumer_id": "c1", "key_id": key_id, "window_start": opened,
            "calls": 10 * networks24, "first_call": opened, "last_call": opened + timedelta(minutes=50),
            "networks24": networks24, "networks16": networks16,
            "window_ips": [f"{p}.7" for p in prefixes], "window_datasets": list(datasets),
            "network_calls": [{"network": f"{p}.0", "calls": 10} for p in prefixes]}


def score(*windows: dict, **params) -> list:
    return KeySharingDetector(**params).score(pl.DataFrame(list(windows)))


def test_a_key_used_from_many_networks_in_many_16s_is_shared():
    [alert] = score(shared_window(0, 6, 3))
    assert (alert.consumer_id, alert.key_id, alert.dataset_id) == ("c1", "k1", "d1")
    assert (alert.window_start, alert.window_end) == day_window(DAY)
    # Strength is the /24 count over the threshold: 6 / 5.
    assert alert.severity == "medium" and alert.score == 1.2
    evidence = alert.evidence
    assert evidence["networks_24"] == 6 and evidence["networks_16"] == 3 and len(evidence["client_ips"]) == 6
    assert evidence["calls_by_network"]["10.0.0.0/24"] == 10 and evidence["window_minutes"] == 70
    assert alert_title(alert.as_row(), "en") == (
        "Key k1 of c1 used from 6 networks (3 /16s) within an hour from 14:00")


def test_below_either_threshold_stays_quiet():
    assert score(shared_window(0, 4, 3)) == []
    assert score(shared_window(0, 8, 2)) == []
    assert score(shared_window(0, 8, 2), min_prefixes16=2) != []


def test_the_windows_of_a_day_make_one_alert_on_the_widest():
    [alert] = score(shared_window(0, 6, 3, datasets=("d1",)), shared_window(30, 20, 4, datasets=("d2",)))
    assert alert.evidence["windows_over_threshold"] == 2 and alert.evidence["networks_24"] == 20
    assert alert.severity == "critical" and alert.dataset_id == ""      # two datasets: none named
    assert alert.evidence["datasets"] == ["d1", "d2"]


def test_a_consumer_without_a_key_is_its_own_credential():
    [alert] = score(shared_window(0, 6, 3, key_id=""))
    assert alert.key_id == "" and alert_title(alert.as_row(), "en").startswith("c1 called from 6 networks")


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

SHARED_IPS = ["1.2.3.4", "1.2.9.4", "23.4.5.6", "45.6.7.8", "67.8.9.10", "89.10.11.12", "101.1.1.1"]


def test_one_key_from_many_networks_across_a_clock_hour_is_flagged_with_the_networks(client):
    add_datasets(client, [("d1", "a1", "conditional", 1000)])
    insert(client, daytime_habit("lawful", DAY, 1, per_hour=30, client_ip="10.1.1.1")
           + daytime_habit("lawful", DAY, 1, per_hour=30, client_ip="10.1.1.2")
           + daytime_habit("lawful", DAY, 1, per_hour=30, client_ip="10.2.7.9"))   # two offices: lawful
    # 28 calls two minutes apart from 15:40 to 16:34: no clock hour holds all seven networks.
    insert(client, [event(at(DAY, 15 + (40 + 2 * n) // 60, (40 + 2 * n) % 60), "sharer", "d1", key_id="key-7",
                          client_ip=ip) for n, ip in enumerate(SHARED_IPS * 4)])
    alerts = KeySharingDetector().run(client, whole_days(DAY, DAY))
    assert [(a.consumer_id, a.key_id, a.dataset_id, a.agency_id) for a in alerts] == [
        ("sharer", "key-7", "d1", "a1")]
    ev = alerts[0].evidence
    assert ev["client_ips"] == sorted(SHARED_IPS)
    assert (ev["networks_24"], ev["networks_16"], ev["calls_in_window"]) == (7, 6, 28)
    assert (ev["first_call"], ev["last_call"]) == ("2026-03-10 15:40:00", "2026-03-10 16:34:00")
    assert ev["calls_by_network"]["1.2.3.0/24"] == 4
    assert sum(c for _, c in ev["per_minute"]) == 28
    again = KeySharingDetector().run(client, whole_days(DAY, DAY))
    assert [a.alert_id for a in again] == [a.alert_id for a in alerts]


def test_same_networks_spread_over_a_day_stay_quiet(client):
    # A travelling user: a different network every two hours is not sharing.
    insert(client, [event(at(DAY, 8 + 2 * n, 5), "traveller", "d1", client_ip=ip)
                    for n, ip in enumerate(SHARED_IPS)])
    assert KeySharingDetector().run(client, whole_days(DAY, DAY)) == []
