"""A small queue of stored alerts for the store and triage tests: five alerts on datasets of two
agencies, three of them one group (C1 over its quota on D1 on three days), one on an anonymous address."""

from __future__ import annotations

from datetime import date, timedelta

from agreement_platform import insert

from detectors.base import Alert
from detectors.store import save_alerts
from odwatch.clock import day_window

DAY = date(2026, 3, 2)


def alert(category="quota_exceeded", consumer="C1", dataset="D1", day=DAY, severity="medium",
          **extra) -> Alert:
    start, end = day_window(day)
    return Alert(detector_id=f"agreement.{category}", category=category, article="第三十一条(五)",
                 severity=severity, score=1.5, message=f"alerts.{category}",
                 window_start=start, window_end=end, evidence={"calls": 12, "ips": ["10.0.0.1"]},
                 consumer_id=consumer, dataset_id=dataset, **extra)


def store_queue(client) -> list[str]:
    """The five alerts stored (one of them twice), with their datasets and keys; their ids."""
    insert(client, "datasets", [{"dataset_id": "D1", "agency_id": "A7"},
                                {"dataset_id": "D2", "agency_id": "A8"}])
    insert(client, "api_keys", [{"key_id": "K1", "consumer_id": "C1"}, {"key_id": "K1b", "consumer_id": "C1"},
                                {"key_id": "K2", "consumer_id": "C2"}])
    made = [
        alert(),
        alert(day=DAY + timedelta(days=1), severity="high"),
        alert(day=DAY + timedelta(days=2)),
        alert("scenario_mismatch", consumer="C2", dataset="D2", severity="low"),
        alert("scraping", consumer="", dataset="D1", client_ip="203.0.113.5", severity="critical"),
    ]
    assert save_alerts(client, made + made[:1]) == 5
    return [a.alert_id for a in made]
