"""The stored alerts as the triage queue reads them: listed with their agency and evidence, grouped
by entity, narrowed by filters, counted by severity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alert_queue import DAY, store_queue

from detectors import triage
from detectors.store import AlertFilters, alert_counts_by_severity, count_alerts, get_alert, list_alerts
from odwatch.clock import day_window
from odwatch.errors import UserError


@pytest.fixture
def alerts(client) -> list[str]:
    return store_queue(client)


def test_new_alerts_are_listed_new_with_their_agency_and_evidence(client, alerts):
    rows = list_alerts(client)
    assert len(rows) == 5 and {r["status"] for r in rows} == {"new"}
    shown = get_alert(client, alerts[0])
    assert shown["agency_id"] == "A7" and shown["evidence"] == {"calls": 12, "ips": ["10.0.0.1"]}
    assert shown["history"] == [] and shown["group_size"] == 3
    assert get_alert(client, "nope") is None


def test_similar_alerts_on_one_entity_are_grouped(client, alerts):
    groups = {g["group_key"]: g for g in list_alerts(client, grouped=True)}
    assert len(groups) == 3
    quota = groups["quota_exceeded|C1|D1"]
    assert quota["count"] == 3 and quota["severity"] == "high" and quota["new"] == 3
    assert quota["first_window"] == day_window(DAY)[0]
    assert quota["last_window"] == day_window(DAY + timedelta(days=2))[1]
    assert quota["latest_alert_id"] == alerts[2]


def test_filters_narrow_the_list(client, alerts):
    assert count_alerts(client, AlertFilters(category="quota_exceeded")) == 3
    assert count_alerts(client, AlertFilters(family="malicious")) == 1
    assert count_alerts(client, AlertFilters(agency_id="A8")) == 1
    assert count_alerts(client, AlertFilters(entity="203.0.113.5")) == 1
    next_day = DAY + timedelta(days=1)
    assert count_alerts(client, AlertFilters(date_from=next_day, date_to=next_day)) == 1
    assert count_alerts(client, AlertFilters(severity="critical")) == 1
    with pytest.raises(UserError, match="Unknown alert category"):
        list_alerts(client, AlertFilters(category="nonsense"))
    with pytest.raises(UserError, match="start date is after the end date"):
        list_alerts(client, AlertFilters(date_from=DAY, date_to=DAY - timedelta(days=1)))


def test_counts_by_severity_count_open_alerts(client, alerts):
    assert alert_counts_by_severity(client) == {"low": 1, "medium": 2, "high": 1, "critical": 1}
    triage.acknowledge(client, [alerts[3]], "alice")
    triage.dismiss(client, [alerts[3]], "fine", "alice")
    assert alert_counts_by_severity(client)["low"] == 0
    assert alert_counts_by_severity(client, open_only=False)["low"] == 1
    assert alert_counts_by_severity(client, agency_id="A7") == {
        "low": 0, "medium": 2, "high": 1, "critical": 1}
    # As the triage queue: the alerts of one dataset whose window overlaps the dates.
    later = {"date_from": DAY + timedelta(days=1), "date_to": DAY + timedelta(days=2)}
    assert alert_counts_by_severity(client, **later) == {"low": 0, "medium": 1, "high": 1, "critical": 0}
    assert alert_counts_by_severity(client, dataset_id="D2", open_only=False) == {
        "low": 1, "medium": 0, "high": 0, "critical": 0}
