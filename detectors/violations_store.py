"""Violation records and access measures (第三十一条), the write side.

A violation is recorded in one of the article's five categories and may carry
measures: none, restrict or close access, for a period or open-ended. A
restricting or closing measure also sets the consumer's API keys to that status,
which is what the gateway enforces; when a measure's period ends,
`lift_expired_measures` sets its keys back (run by `odwatch detect` and the serve
detector job). Every write is an audit entry.

Rows are ReplacingMergeTree versions: an update writes the whole row again with
a later `updated_at`. The read side (lists, enforcement list, public notice) is
reports/violations.py.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from detectors.clock import now, shanghai
from odwatch.errors import UserError
from reports.violations import (
    KEY_STATUS,
    STATUS_STRENGTH,
    ended_measures,
    enforced,
    measures_and_restricted_keys,
)
from warehouse import audit

# 第三十一条 (一)…(五)
VIOLATION_CATEGORIES = {
    1: "违反开放平台管理制度",
    2: "采用非法手段获取公共数据",
    3: "侵犯商业秘密、个人隐私等他人合法权益",
    4: "超出数据利用协议限制的应用场景使用公共数据",
    5: "违反法律、法规、规章和数据利用协议的其他行为",
}
MEASURES = ("none", "restrict", "close")
SEVERITY_ORDER = ("low", "medium", "high", "critical")

VIOLATION_COLUMNS = [
    "violation_id", "consumer_id", "key_id", "dataset_id", "agency_id", "category", "description",
    "alert_ids", "recorded_at", "recorded_by", "severity", "publicized", "updated_at",
]
MEASURE_COLUMNS = [
    "measure_id", "violation_id", "consumer_id", "key_id", "action", "starts_at", "ends_at",
    "decided_by", "reason", "updated_at",
]

GET_VIOLATION = f"""
SELECT {", ".join(VIOLATION_COLUMNS)}
FROM violations FINAL
WHERE violation_id = {{violation_id:String}}
"""

# A confirmation joins a violation of the same consumer (or key), dataset and
# category recorded in the last `days` days instead of opening a new one.
RECENT_VIOLATION = """
SELECT violation_id
FROM violations FINAL
WHERE consumer_id = {consumer_id:String}
  AND key_id = {key_id:String}
  AND dataset_id = {dataset_id:String}
  AND category = {category:UInt8}
  AND recorded_at >= toDateTime64({since:Int64}, 3, 'Asia/Shanghai')
ORDER BY recorded_at DESC
LIMIT 1
"""

# A measure reaches the key it names and every key of the consumer it names: the rule
# (reports.violations._reaches) by which the lifting below and the gateway list set them back.
KEYS_TO_SET = """
SELECT key_id, consumer_id, created_at, toString(status) AS status
FROM api_keys FINAL
WHERE (consumer_id = {consumer_id:String} AND {consumer_id:String} != '')
   OR (key_id = {key_id:String} AND {key_id:String} != '')
"""

KEY_COLUMNS = ["key_id", "consumer_id", "created_at", "status", "updated_at"]


def _version_after(previous: datetime | None) -> datetime:
    """Now, or 1 ms after the previous version when the clock has not moved on (same-millisecond updates)."""
    moment = now().replace(microsecond=now().microsecond // 1000 * 1000)
    if previous is not None and moment <= shanghai(previous):
        moment = shanghai(previous) + timedelta(milliseconds=1)
    return moment


def check_category(category: int) -> None:
    if category not in VIOLATION_CATEGORIES:
        raise UserError("The violation category must be 1 to 5 (第三十一条 (一) to (五)).")


def check_measure(action: str, days: int | None) -> None:
    if action not in MEASURES:
        raise UserError(f"Unknown measure '{action}'. Use none, restrict or close.")
    if days is not None and days <= 0:
        raise UserError("A measure's period must be a positive number of days.")


def get_violation(client: Client, violation_id: str) -> dict[str, Any] | None:
    result = client.query(GET_VIOLATION, parameters={"violation_id": violation_id})
    if not result.result_rows:
        return None
    return dict(zip(result.column_names, result.result_rows[0], strict=True))


def recent_violation(client: Client, *, consumer_id: str, key_id: str, dataset_id: str, category: int,
                     days: int = 30) -> str | None:
    if not (consumer_id or key_id):
        return None
    params = {"consumer_id": consumer_id, "key_id": key_id, "dataset_id": dataset_id, "category": category,
              "since": int((now() - timedelta(days=days)).timestamp())}
    rows = client.query(RECENT_VIOLATION, parameters=params).result_rows
    return rows[0][0] if rows else None


def _write_violation(client: Client, row: dict[str, Any]) -> None:
    client.insert("violations", [[row[c] for c in VIOLATION_COLUMNS]], column_names=VIOLATION_COLUMNS)


def record_violation(client: Client, *, consumer_id: str, category: int, actor: str, key_id: str = "",
                     client_ip: str = "", dataset_id: str = "", agency_id: str = "", description: str = "",
                     alert_ids: list[str] | None = None, severity: str = "medium") -> str:
    """A new violation record; returns its id.

    Anonymous misuse has no consumer: the record then names the client IP in its
    description (the table has no IP column, and the public notice shows no IPs).
    """
    check_category(category)
    if not (consumer_id or key_id or client_ip):
        raise UserError("A violation record needs the consumer, API key or client IP it concerns.")
    if not (consumer_id or key_id):
        description = f"anonymous client {client_ip}: {description}".rstrip(": ")
    recorded = _version_after(None)
    violation_id = f"V{recorded:%Y%m%d}-{uuid.uuid4().hex[:8]}"
    row = {
        "violation_id": violation_id, "consumer_id": consumer_id, "key_id": key_id, "dataset_id": dataset_id,
        "agency_id": agency_id, "category": category, "description": description,
        "alert_ids": sorted(set(alert_ids or [])), "recorded_at": recorded, "recorded_by": actor,
        "severity": severity, "publicized": 0, "updated_at": recorded,
    }
    _write_violation(client, row)
    audit.record(client, actor, "violation.record", "violation", violation_id,
                 {k: row[k] for k in ("consumer_id", "key_id", "dataset_id", "category", "alert_ids",
                                      "severity", "description")})
    return violation_id


def join_violation(client: Client, violation_id: str, alert_ids: list[str], actor: str,
                   severity: str | None = None) -> None:
    """Add alerts to an existing violation (its severity rises to the worst seen, never falls)."""
    row = get_violation(client, violation_id)
    if row is None:
        raise UserError(f"No violation record with id {violation_id}.")
    added = sorted(set(alert_ids) - set(row["alert_ids"]))
    row["alert_ids"] = sorted(set(row["alert_ids"]) | set(alert_ids))
    if severity and SEVERITY_ORDER.index(severity) > SEVERITY_ORDER.index(row["severity"]):
        row["severity"] = severity
    row["updated_at"] = _version_after(row["updated_at"])
    _write_violation(client, row)
    audit.record(client, actor, "violation.join", "violation", violation_id,
                 {"added_alert_ids": added, "severity": row["severity"]})


def set_publicized(client: Client, violation_id: str, on: bool, actor: str) -> None:
    """Show (or withdraw) a violation on the public notice page (第三十一条 公示)."""
    row = get_violation(client, violation_id)
    if row is None:
        raise UserError(f"No violation record with id {violation_id}.")
    row["publicized"] = int(on)
    row["updated_at"] = _version_after(row["updated_at"])
    _write_violation(client, row)
    audit.record(client, actor, "violation.publicize" if on else "violation.unpublicize",
                 "violation", violation_id, {"publicized": bool(on)})


def add_measure(client: Client, violation_id: str, action: str, actor: str, *, days: int | None = None,
                reason: str = "", starts_at: datetime | None = None) -> str:
    """A measure on a violation's consumer; restrict/close also set the status of its API keys."""
    check_measure(action, days)
    violation = get_violation(client, violation_id)
    if violation is None:
        raise UserError(f"No violation record with id {violation_id}.")
    if action != "none" and not (violation["consumer_id"] or violation["key_id"]):
        raise UserError("Access can only be restricted or closed for a known consumer or API key; "
                        "this violation concerns anonymous traffic.")
    start = shanghai(starts_at) if starts_at else _version_after(None)
    ends = start + timedelta(days=days) if days else None
    measure_id = f"M{start:%Y%m%d}-{uuid.uuid4().hex[:8]}"
    row = {
        "measure_id": measure_id, "violation_id": violation_id, "consumer_id": violation["consumer_id"],
        "key_id": violation["key_id"], "action": action, "starts_at": start.replace(microsecond=0),
        "ends_at": ends.replace(microsecond=0) if ends else None, "decided_by": actor, "reason": reason,
        "updated_at": _version_after(None),
    }
    client.insert("measures", [[row[c] for c in MEASURE_COLUMNS]], column_names=MEASURE_COLUMNS)
    # A measure entered after its period is over (a late record) is history: it restricts nothing.
    over = ends is not None and ends <= now()
    keys = [] if over else _set_key_status(client, violation["consumer_id"], violation["key_id"], action)
    audit.record(client, actor, "measure.add", "measure", measure_id, {
        "violation_id": violation_id, "action": action, "days": days, "reason": reason,
        "starts_at": row["starts_at"], "ends_at": row["ends_at"], "keys": keys,
    })
    return measure_id


def _stronger(a: str, b: str) -> str:
    return max(a, b, key=STATUS_STRENGTH.index)


def _set_key_status(client: Client, consumer_id: str, key_id: str, action: str) -> list[str]:
    """restrict → keys 'restricted', close → 'closed'; 'none' leaves keys alone. Returns the keys set.

    A restriction never reopens a closed key: the key keeps the stronger status."""
    if action == "none":
        return []
    keys = client.query(KEYS_TO_SET, parameters={"consumer_id": consumer_id, "key_id": key_id}).result_rows
    if not keys:
        return []
    version = _version_after(None)
    client.insert("api_keys", [[k, c, created, _stronger(status, KEY_STATUS[action]), version]
                               for k, c, created, status in keys], column_names=KEY_COLUMNS)
    return sorted(k for k, *_ in keys)


def lift_expired_measures(client: Client, *, at: datetime | None = None, actor: str = "system") -> list[str]:
    """Set back the keys whose restricting/closing measures have ended at `at` (default: now).

    A key goes back to 'active' when no measure reaching it still stands, or down to
    the strongest one still standing (a 7-day close inside a 30-day restriction ends
    as 'restricted'); it is never raised here. One audit entry per key, naming the
    measures that ended. Returns the keys changed.
    """
    moment = shanghai(at) if at else now()
    measures, keys = measures_and_restricted_keys(client)
    changed = []
    for key in keys:
        status, _ = enforced(key, measures, moment)
        if status != key["status"]:
            ended = sorted(m["measure_id"] for m in ended_measures(key, measures, moment))
            changed.append({**key, "from": key["status"], "status": status, "ended": ended,
                            "updated_at": _version_after(key["updated_at"])})
    if not changed:
        return []
    client.insert("api_keys", [[key[c] for c in KEY_COLUMNS] for key in changed], column_names=KEY_COLUMNS)
    for key in changed:
        audit.record(client, actor, "measure.expired", "api_key", key["key_id"], {
            "consumer_id": key["consumer_id"], "measures": key["ended"], "from": key["from"],
            "to": key["status"], "at": moment.replace(microsecond=0),
        })
    return [key["key_id"] for key in changed]
