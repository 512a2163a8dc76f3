"""Key sharing's score on hand-built frames: one credential, many networks within an hour."""

from datetime import date, datetime, timedelta

import polars as pl

from detectors.key_sharing import KeySharingDetector
from detectors.messages import alert_title
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


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
