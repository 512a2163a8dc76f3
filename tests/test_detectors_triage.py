"""The triage lifecycle, violation records and measures, grouped lists, labels, and their audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from agreement_platform import insert

from detectors import triage, violations
from detectors.base import Alert
from detectors.store import (
    AlertFilters,
    alert_counts_by_severity,
    count_alerts,
    get_alert,
    label_summary,
    list_alerts,
    save_alerts,
    verdict_labels,
)
from odwatch.clock import day_window
from odwatch.errors import UserError
from warehouse import audit

DAY = date(2026, 3, 2)


def alert(category="quota_exceeded", consumer="C1", dataset="D1", day=DAY, severity="medium",
          **extra) -> Alert:
    start, end = day_window(day)
    return Alert(detector_id=f"agreement.{category}", category=category, article="第三十一条(五)",
                 severity=severity, score=1.5, message=f"alerts.{category}",
                 window_start=start, window_end=end, evidence={"calls": 12, "ips": ["10.0.0.1"]},
                 consumer_id=consumer, dataset_id=dataset, **extra)


@pytest.fixture
def alerts(client):
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


def status(client, alert_id):
    return get_alert(client, alert_id)["status"]


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


def test_acknowledge_assign_confirm_records_violation_measure_and_restricts_keys(client, alerts):
    triage.acknowledge(client, alerts[:2], "alice")
    triage.assign(client, alerts[:2], "bob", "alice")
    assert count_alerts(client, AlertFilters(assignee="bob", status="acknowledged")) == 2
    violation_id = triage.confirm(client, alerts[:2], "bob", 5, measure="restrict", measure_days=30,
                                  description="Twice over quota")
    for alert_id in alerts[:2]:
        shown = get_alert(client, alert_id)
        assert shown["status"] == "confirmed" and shown["assignee"] == "bob"
        assert shown["violation_id"] == violation_id
        assert [e["action"] for e in shown["history"]] == ["acknowledge", "assign", "confirm"]
    violation = violations.get_violation(client, violation_id)
    assert violation["consumer_id"] == "C1" and violation["category"] == 5 and violation["agency_id"] == "A7"
    assert sorted(violation["alert_ids"]) == sorted(alerts[:2]) and violation["severity"] == "high"
    measure = client.query("SELECT action, ends_at - starts_at FROM measures FINAL "
                           "WHERE violation_id = {v:String}", parameters={"v": violation_id}).result_rows
    assert measure == [("restrict", 30 * 86400)]
    keys = dict(client.query("SELECT key_id, status FROM api_keys FINAL").result_rows)
    assert keys == {"K1": "restricted", "K1b": "restricted", "K2": "active"}


def test_a_second_confirmation_joins_the_recent_violation(client, alerts):
    triage.acknowledge(client, alerts[:3], "alice")
    first = triage.confirm(client, alerts[:1], "alice", 5)
    second = triage.confirm(client, alerts[1:3], "alice", 5)
    assert first == second
    assert sorted(violations.get_violation(client, first)["alert_ids"]) == sorted(alerts[:3])
    assert client.query("SELECT count() FROM measures FINAL").result_rows[0][0] == 2


def test_illegal_transitions_are_refused_in_plain_words_and_change_nothing(client, alerts):
    with pytest.raises(UserError, match="is new; acknowledge it before you confirm it"):
        triage.confirm(client, alerts[:1], "alice", 5)
    triage.acknowledge(client, alerts[:1], "alice")
    with pytest.raises(UserError, match="needs a reason"):
        triage.dismiss(client, alerts[:1], "  ", "alice")
    with pytest.raises(UserError, match="is acknowledged and cannot be acknowledged"):
        triage.acknowledge(client, alerts[:2], "alice")
    assert status(client, alerts[1]) == "new"          # the batch was refused as a whole
    triage.dismiss(client, alerts[:1], "test traffic", "alice")
    with pytest.raises(UserError, match="already dismissed and cannot be confirmed"):
        triage.confirm(client, alerts[:1], "alice", 5)
    with pytest.raises(UserError, match="No alert with id missing1"):
        triage.acknowledge(client, ["missing1"], "alice")
    triage.acknowledge(client, [alerts[2], alerts[3]], "alice")
    with pytest.raises(UserError, match="category must be 1 to 5"):
        triage.confirm(client, [alerts[3]], "alice", 9)
    with pytest.raises(UserError, match="different consumers"):
        triage.confirm(client, [alerts[2], alerts[3]], "alice", 5)
    triage.acknowledge(client, [alerts[4]], "alice")
    with pytest.raises(UserError, match="anonymous traffic"):
        triage.confirm(client, [alerts[4]], "alice", 2, measure="close")
    with pytest.raises(UserError, match="Unknown measure"):
        triage.confirm(client, [alerts[2]], "alice", 5, measure="ban")
    assert status(client, alerts[2]) == "acknowledged"


def test_anonymous_misuse_is_recorded_with_its_ip_and_no_measure(client, alerts):
    triage.acknowledge(client, [alerts[4]], "alice")
    violation_id = triage.confirm(client, [alerts[4]], "alice", 2, description="page walk")
    violation = violations.get_violation(client, violation_id)
    assert violation["consumer_id"] == ""
    assert violation["description"] == "anonymous client 203.0.113.5: page walk"


def test_dismiss_and_reopen_and_verdicts_become_labels(client, alerts):
    triage.acknowledge(client, alerts[:4], "alice")
    triage.dismiss(client, [alerts[3]], "declared scenario was renamed", "alice")
    triage.confirm(client, alerts[:1], "alice", 5)
    labels = {row["alert_id"]: row for row in verdict_labels(client)}
    assert labels[alerts[0]]["label"] == "true_positive"
    assert labels[alerts[3]]["label"] == "false_positive"
    assert labels[alerts[3]]["reason"] == "declared scenario was renamed"
    assert set(labels) == {alerts[0], alerts[3]}
    summary = {row["detector_id"]: row for row in label_summary(client)}
    assert summary["agreement.quota_exceeded"] == {"detector_id": "agreement.quota_exceeded", "confirmed": 1,
                                                   "dismissed": 0, "precision": 1.0}
    triage.reopen(client, [alerts[3]], "renaming was not approved", "carol")
    assert status(client, alerts[3]) == "acknowledged"
    assert alerts[3] not in {row["alert_id"] for row in verdict_labels(client)}


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


def test_every_change_is_audited_and_the_chain_stays_intact(client, alerts):
    triage.acknowledge(client, alerts[:2], "alice")
    triage.assign(client, alerts[:1], "bob", "alice")
    violation_id = triage.confirm(client, alerts[:2], "bob", 5, measure="close")
    violations.set_publicized(client, violation_id, True, "carol")
    entries = client.query("SELECT actor, action, object_id FROM audit_log ORDER BY seq").result_rows
    actions = [(actor, action) for actor, action, _ in entries]
    assert actions[:3] == [("alice", "alert.acknowledge")] * 2 + [("alice", "alert.assign")]
    assert ("bob", "violation.record") in actions and ("bob", "measure.add") in actions
    assert actions.count(("bob", "alert.confirm")) == 2
    assert actions[-1] == ("carol", "violation.publicize")
    assert violations.get_violation(client, violation_id)["publicized"] == 1
    assert audit.verify(client) == (len(entries), [])
