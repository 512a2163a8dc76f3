"""The alert lifecycle: new → acknowledged → confirmed | dismissed, with an assignee.

Each function takes a list of alert ids, checks every one before writing any
(so a refused step changes nothing), then writes one `alert_events` row and one
audit entry per alert. Confirming records or joins a violation (第三十一条) with
a measure; dismissing needs a reason. The verdicts stay as labels
(detectors.store.verdict_labels) for evaluating the detectors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from detectors import violations
from detectors.messages import alert_title
from detectors.store import history as alert_history
from odwatch.clock import now, shanghai
from odwatch.errors import UserError
from odwatch.vocabulary import SEVERITIES
from warehouse import audit

EVENT_COLUMNS = ["alert_id", "at", "actor", "action", "status", "assignee", "reason", "violation_id"]

# action -> (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "acknowledge": (("new",), "acknowledged"),
    "assign": (("new", "acknowledged"), None),
    "confirm": (("acknowledged",), "confirmed"),
    "dismiss": (("acknowledged",), "dismissed"),
    "reopen": (("dismissed",), "acknowledged"),
    # Sent again to the escalation channel because nobody acknowledged it in time (reports.notify);
    # the alert stays new, and its history and the audit trail say it was escalated.
    "escalate": (("new",), None),
}

# The 第三十一条 category a confirmation of each alert category usually falls under.
SUGGESTED_VIOLATION_CATEGORY = {
    "scraping": 2, "burst": 1, "key_sharing": 1, "probing": 2, "off_hours_bulk": 1, "sybil_harvest": 2,
    "ml_outlier": 1, "distributed_scraping": 2, "scanning": 2, "injection": 2, "tampering": 2,
    "no_agreement": 2, "outside_validity": 5, "fields_outside_agreement": 5,
    "scenario_mismatch": 4, "quota_exceeded": 5, "ip_outside_allowlist": 5, "suspended_dataset": 3,
    "report_overdue": 5,
}

CURRENT_STATE = """
SELECT a.alert_id, a.category, a.severity, a.consumer_id, a.key_id, a.client_ip, a.dataset_id, a.agency_id,
       a.title, a.message_key, a.message_params,
       if(e.alert_id = '', 'new', toString(e.status)) AS status,
       e.assignee AS assignee,
       e.last_at AS last_at
FROM (SELECT * FROM alerts FINAL WHERE alert_id IN {alert_ids:Array(String)}) AS a
LEFT JOIN (
    SELECT alert_id, argMax(status, at) AS status, argMax(assignee, at) AS assignee, max(at) AS last_at
    FROM alert_events
    WHERE alert_id IN {alert_ids:Array(String)}
    GROUP BY alert_id
) AS e ON e.alert_id = a.alert_id
"""

STATUS_WORDS = {"new": "new", "acknowledged": "acknowledged", "confirmed": "already confirmed",
                "dismissed": "already dismissed"}


@dataclass
class AlertState:
    alert_id: str
    category: str
    severity: str
    consumer_id: str
    key_id: str
    client_ip: str
    dataset_id: str
    agency_id: str
    title: str
    message_key: str
    message_params: str
    status: str
    assignee: str
    last_at: datetime | None


def _states(client: Client, alert_ids: list[str]) -> list[AlertState]:
    ids = list(dict.fromkeys(alert_ids))
    if not ids:
        raise UserError("Name at least one alert.")
    result = client.query(CURRENT_STATE, parameters={"alert_ids": ids})
    found = {row[0]: AlertState(*row) for row in result.result_rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise UserError(f"No alert with id {', '.join(missing)}.")
    for state in found.values():
        if state.last_at is not None and state.last_at.year < 1980:   # LEFT JOIN default: no events yet
            state.last_at = None
    return [found[i] for i in ids]


def _check(states: list[AlertState], action: str) -> None:
    allowed, _ = TRANSITIONS[action]
    for state in states:
        if state.status in allowed:
            continue
        if action in ("confirm", "dismiss") and state.status == "new":
            raise UserError(f"Alert {state.alert_id} is new; acknowledge it before you {action} it.")
        verb = {"acknowledge": "acknowledged", "assign": "assigned", "confirm": "confirmed",
                "dismiss": "dismissed", "reopen": "reopened"}[action]
        raise UserError(f"Alert {state.alert_id} is {STATUS_WORDS[state.status]} and cannot be {verb}.")


def _write(client: Client, states: list[AlertState], action: str, actor: str, *, assignee: str | None = None,
           reason: str = "", violation_id: str = "", detail: dict[str, Any] | None = None) -> None:
    _, leads_to = TRANSITIONS[action]
    moment = now().replace(microsecond=now().microsecond // 1000 * 1000)
    rows = []
    for state in states:
        # Strictly after the alert's previous event, so "latest event" is never a tie.
        at = moment
        if state.last_at is not None and at <= shanghai(state.last_at):
            at = shanghai(state.last_at) + timedelta(milliseconds=1)
        status = leads_to or state.status
        who = state.assignee if assignee is None else assignee
        rows.append([state.alert_id, at, actor, action, status, who, reason, violation_id])
    client.insert("alert_events", rows, column_names=EVENT_COLUMNS)
    for state, row in zip(states, rows, strict=True):
        audit.record(client, actor, f"alert.{action}", "alert", state.alert_id, {
            "from": state.status, "to": row[4], "assignee": row[5], "reason": reason,
            "violation_id": violation_id, **(detail or {}),
        })


def _actor(actor: str) -> str:
    if not actor or not actor.strip():
        raise UserError("Say who is acting (an actor name is required).")
    return actor.strip()


def acknowledge(client: Client, alert_ids: list[str], actor: str) -> None:
    states = _states(client, alert_ids)
    _check(states, "acknowledge")
    _write(client, states, "acknowledge", _actor(actor))


def assign(client: Client, alert_ids: list[str], assignee: str, actor: str) -> None:
    if not assignee or not assignee.strip():
        raise UserError("Name the person to assign the alert(s) to.")
    states = _states(client, alert_ids)
    _check(states, "assign")
    _write(client, states, "assign", _actor(actor), assignee=assignee.strip())


def dismiss(client: Client, alert_ids: list[str], reason: str, actor: str) -> None:
    if not reason or not reason.strip():
        raise UserError("Dismissing an alert needs a reason (it is kept as a label for the detector).")
    states = _states(client, alert_ids)
    _check(states, "dismiss")
    _write(client, states, "dismiss", _actor(actor), reason=reason.strip())


def reopen(client: Client, alert_ids: list[str], reason: str, actor: str) -> None:
    """Take back a dismissal: the alert is acknowledged again."""
    if not reason or not reason.strip():
        raise UserError("Reopening an alert needs a reason.")
    states = _states(client, alert_ids)
    _check(states, "reopen")
    _write(client, states, "reopen", _actor(actor), reason=reason.strip())


def _one_subject(states: list[AlertState]) -> tuple[str, str, str]:
    """The consumer, key and IP the alerts concern; a violation record is about one subject."""
    subjects = {(s.consumer_id, "" if s.consumer_id else s.key_id,
                 "" if (s.consumer_id or s.key_id) else s.client_ip) for s in states}
    if len(subjects) > 1:
        raise UserError("These alerts concern different consumers; "
                        "confirm each consumer's alerts separately.")
    return subjects.pop()


def confirm(client: Client, alert_ids: list[str], actor: str, violation_category: int,
            measure: str = "none", measure_days: int | None = None, description: str = "") -> str:
    """Confirm alerts as a violation: records a new one, or joins the subject's recent one of the
    same category and dataset; adds the measure; returns the violation id."""
    actor = _actor(actor)
    violations.check_category(violation_category)
    violations.check_measure(measure, measure_days)
    states = _states(client, alert_ids)
    _check(states, "confirm")
    consumer_id, key_id, client_ip = _one_subject(states)
    if measure != "none" and not (consumer_id or key_id):
        raise UserError("Access can only be restricted or closed for a known consumer or API key; "
                        "these alerts concern anonymous traffic.")
    datasets = {s.dataset_id for s in states}
    dataset_id = datasets.pop() if len(datasets) == 1 else ""
    agencies = {s.agency_id for s in states}
    agency_id = agencies.pop() if len(agencies) == 1 else ""
    severity = max((s.severity for s in states), key=SEVERITIES.index)
    ids = [s.alert_id for s in states]
    violation_id = violations.recent_violation(
        client, consumer_id=consumer_id, key_id=key_id, dataset_id=dataset_id, category=violation_category)
    if violation_id:
        violations.join_violation(client, violation_id, ids, actor, severity)
    else:
        text = description.strip() or "; ".join(alert_title(asdict(s)) for s in states[:5])
        violation_id = violations.record_violation(
            client, consumer_id=consumer_id, key_id=key_id, client_ip=client_ip, dataset_id=dataset_id,
            agency_id=agency_id, category=violation_category, description=text, alert_ids=ids,
            severity=severity, actor=actor)
    violations.add_measure(client, violation_id, measure, actor, days=measure_days,
                                 reason=description.strip())
    _write(client, states, "confirm", actor, reason=description.strip(), violation_id=violation_id,
           detail={"violation_category": violation_category, "measure": measure,
                   "measure_days": measure_days})
    return violation_id


def escalate(client: Client, alert_ids: list[str], actor: str, detail: dict[str, Any] | None = None) -> None:
    """Mark new alerts escalated (their notification was re-sent to the escalation channel);
    alerts acted on meanwhile are left alone."""
    if not alert_ids:
        return
    states = [s for s in _states(client, alert_ids) if s.status == "new"]
    if states:
        _write(client, states, "escalate", _actor(actor), reason="not acknowledged in time", detail=detail)


def history(client: Client, alert_id: str) -> list[dict[str, Any]]:
    """Every lifecycle event of an alert, oldest first."""
    return alert_history(client, alert_id)
