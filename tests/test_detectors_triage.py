"""The triage lifecycle (acknowledge, assign, confirm, dismiss, reopen): the violation records and
measures a confirmation writes, verdicts as labels, refusals in plain words, and the audit trail.

The alert lists and counts the triage queue reads: test_detectors_store.py."""

from __future__ import annotations

import pytest
from alert_queue import store_queue

from detectors import triage, violations
from detectors.store import (
    AlertFilters,
    count_alerts,
    get_alert,
    label_summary,
    verdict_labels,
)
from odwatch.errors import UserError
from warehouse import audit


@pytest.fixture
def alerts(client) -> list[str]:
    return store_queue(client)


def status(client, alert_id):
    return get_alert(client, alert_id)["status"]


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
