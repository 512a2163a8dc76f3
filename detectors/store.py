"""The alert store: saving detector output and reading it back for people.

Alerts are upserted by id (ReplacingMergeTree on detected_at), so a re-run
replaces an alert's evidence and never duplicates it. Status is event-sourced:
an alert's latest `alert_events` row is its state, and an alert without events
is "new". Similar alerts on one entity share a `group_key` and can be listed as
one group with a count, the worst severity and the first and last window.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from detectors.base import Alert, name_agencies
from detectors.messages import alert_title
from odwatch.clock import SHANGHAI, day_start, shanghai
from odwatch.errors import UserError
from odwatch.vocabulary import AGREEMENT_CATEGORIES, ALERT_CATEGORIES, MALICIOUS_CATEGORIES, SEVERITIES

ALERT_COLUMNS = [
    "alert_id", "detector_id", "category", "article", "severity", "score", "consumer_id", "key_id",
    "client_ip", "dataset_id", "agency_id", "window_start", "window_end", "title", "message_key",
    "message_params", "evidence", "group_key",
]
STATUSES = ("new", "acknowledged", "confirmed", "dismissed")
FAMILIES = {"malicious": MALICIOUS_CATEGORIES, "agreement": AGREEMENT_CATEGORIES}

# The latest event of each alert. Triage writes strictly increasing times per alert.
LATEST_EVENTS = """
SELECT alert_id,
       argMax(status, at)       AS status,
       argMax(assignee, at)     AS assignee,
       argMax(violation_id, at) AS violation_id,
       max(at)                  AS status_at
FROM alert_events
GROUP BY alert_id
"""

# Readable names for the titles (detectors.messages): the latest name of each consumer and dataset.
CONSUMER_NAMES = """
SELECT consumer_id, argMax(name, updated_at) AS consumer_name FROM consumers GROUP BY consumer_id
"""
DATASET_NAMES = """
SELECT dataset_id, argMax(name, (version, updated_at)) AS dataset_name FROM datasets GROUP BY dataset_id
"""

FILTERED_ALERTS = f"""
SELECT
    a.alert_id AS alert_id, a.detector_id AS detector_id, a.category AS category, a.article AS article,
    a.severity AS severity, a.score AS score, a.consumer_id AS consumer_id, a.key_id AS key_id,
    a.client_ip AS client_ip, a.dataset_id AS dataset_id, a.agency_id AS agency_id,
    a.window_start AS window_start, a.window_end AS window_end, a.title AS title,
    a.message_key AS message_key, a.message_params AS message_params,
    n.consumer_name AS consumer_name, d.dataset_name AS dataset_name,
    a.group_key AS group_key, a.detected_at AS detected_at, a.evidence AS evidence,
    if(e.alert_id = '', 'new', toString(e.status)) AS status,
    e.assignee AS assignee,
    e.violation_id AS violation_id
FROM alerts AS a FINAL
LEFT JOIN ({LATEST_EVENTS}) AS e ON e.alert_id = a.alert_id
LEFT JOIN ({CONSUMER_NAMES}) AS n ON n.consumer_id = a.consumer_id
LEFT JOIN ({DATASET_NAMES}) AS d ON d.dataset_id = a.dataset_id
WHERE (empty({{categories:Array(String)}}) OR has({{categories:Array(String)}}, toString(a.category)))
  AND ({{severity:String}} = '' OR a.severity = {{severity:String}})
  AND ({{detector_id:String}} = '' OR a.detector_id = {{detector_id:String}})
  AND ({{dataset_id:String}} = '' OR a.dataset_id = {{dataset_id:String}})
  AND ({{consumer_id:String}} = '' OR a.consumer_id = {{consumer_id:String}})
  AND ({{entity:String}} = '' OR {{entity:String}} IN (a.consumer_id, a.key_id, a.client_ip))
  AND ({{agency_id:String}} = '' OR a.agency_id = {{agency_id:String}})
  AND ({{group_key:String}} = '' OR a.group_key = {{group_key:String}})
  AND a.window_start < toDateTime({{before:Int64}}, 'Asia/Shanghai')
  AND a.window_end > toDateTime({{after:Int64}}, 'Asia/Shanghai')
"""

LIST_ALERTS = f"""
SELECT * FROM ({FILTERED_ALERTS})
WHERE ({{status:String}} = '' OR status = {{status:String}})
  AND ({{assignee:String}} = '' OR assignee = {{assignee:String}})
ORDER BY window_start DESC, indexOf(['low', 'medium', 'high', 'critical'], severity) DESC, alert_id
LIMIT {{limit:UInt64}} OFFSET {{offset:UInt64}}
"""

COUNT_ALERTS = f"""
SELECT count() FROM ({FILTERED_ALERTS})
WHERE ({{status:String}} = '' OR status = {{status:String}})
  AND ({{assignee:String}} = '' OR assignee = {{assignee:String}})
"""

# One row per group of similar alerts (same category, entity and dataset).
LIST_GROUPS = f"""
SELECT
    group_key,
    any(category)                                                     AS category,
    any(detector_id)                                                  AS detector_id,
    any(consumer_id)                                                  AS consumer_id,
    any(key_id)                                                       AS key_id,
    any(client_ip)                                                    AS client_ip,
    any(dataset_id)                                                   AS dataset_id,
    any(agency_id)                                                    AS agency_id,
    count()                                                           AS count,
    ['low', 'medium', 'high', 'critical'][max(indexOf(['low', 'medium', 'high', 'critical'], severity))]
                                                                      AS severity,
    max(score)                                                        AS max_score,
    min(window_start)                                                 AS first_window,
    max(window_end)                                                   AS last_window,
    argMax(alert_id, window_start)                                    AS latest_alert_id,
    argMax(title, window_start)                                       AS latest_stored_title,
    argMax(message_key, window_start)                                 AS latest_message_key,
    argMax(message_params, window_start)                              AS latest_message_params,
    any(consumer_name)                                                AS consumer_name,
    any(dataset_name)                                                 AS dataset_name,
    countIf(status = 'new')                                           AS new,
    countIf(status = 'acknowledged')                                  AS acknowledged,
    countIf(status = 'confirmed')                                     AS confirmed,
    countIf(status = 'dismissed')                                     AS dismissed,
    arrayStringConcat(arraySort(groupUniqArray(assignee)), ', ')      AS assignees
FROM ({FILTERED_ALERTS})
WHERE ({{status:String}} = '' OR status = {{status:String}})
  AND ({{assignee:String}} = '' OR assignee = {{assignee:String}})
GROUP BY group_key
ORDER BY last_window DESC, group_key
LIMIT {{limit:UInt64}} OFFSET {{offset:UInt64}}
"""

GET_ALERT = f"""
SELECT a.alert_id AS alert_id, a.detector_id AS detector_id, a.category AS category, a.article AS article,
       a.severity AS severity, a.score AS score, a.consumer_id AS consumer_id, a.key_id AS key_id,
       a.client_ip AS client_ip, a.dataset_id AS dataset_id, a.agency_id AS agency_id,
       a.window_start AS window_start, a.window_end AS window_end, a.title AS title,
       a.message_key AS message_key, a.message_params AS message_params,
       n.consumer_name AS consumer_name, d.dataset_name AS dataset_name,
       a.evidence AS evidence, a.group_key AS group_key, a.detected_at AS detected_at
FROM (SELECT * FROM alerts FINAL WHERE alert_id = {{alert_id:String}}) AS a
LEFT JOIN ({CONSUMER_NAMES}) AS n ON n.consumer_id = a.consumer_id
LEFT JOIN ({DATASET_NAMES}) AS d ON d.dataset_id = a.dataset_id
"""

ALERT_HISTORY = """
SELECT at, actor, action, status, assignee, reason, violation_id
FROM alert_events
WHERE alert_id = {alert_id:String}
ORDER BY at
"""

GROUP_SIZE = "SELECT count() FROM alerts FINAL WHERE group_key = {group_key:String}"

COUNTS_BY_SEVERITY = f"""
SELECT severity, count()
FROM ({FILTERED_ALERTS})
WHERE NOT {{open_only:UInt8}} OR status IN ('new', 'acknowledged')
GROUP BY severity
"""

# Triage verdicts as labels: confirmed = true positive, dismissed = false positive.
VERDICT_LABELS = f"""
SELECT a.alert_id AS alert_id, a.detector_id AS detector_id, a.category AS category,
       a.window_start AS window_start,
       if(e.status = 'confirmed', 'true_positive', 'false_positive') AS label,
       e.status AS verdict, e.status_at AS decided_at, r.reason AS reason
FROM alerts AS a FINAL
INNER JOIN ({LATEST_EVENTS}) AS e ON e.alert_id = a.alert_id
LEFT JOIN (
    SELECT alert_id, argMax(reason, at) AS reason FROM alert_events
    WHERE status IN ('confirmed', 'dismissed') GROUP BY alert_id
) AS r ON r.alert_id = a.alert_id
WHERE e.status IN ('confirmed', 'dismissed')
  AND ({{detector_id:String}} = '' OR a.detector_id = {{detector_id:String}})
ORDER BY decided_at
"""


@dataclass(frozen=True)
class AlertFilters:
    """What a person narrows the alert list by; None means "any"."""

    category: str | None = None
    family: str | None = None              # malicious | agreement
    severity: str | None = None
    status: str | None = None              # new | acknowledged | confirmed | dismissed
    detector_id: str | None = None
    dataset_id: str | None = None
    consumer_id: str | None = None
    entity: str | None = None              # a consumer id, key id or client IP
    assignee: str | None = None
    agency_id: str | None = None
    group_key: str | None = None
    date_from: date | None = None          # alerts whose window overlaps [date_from, date_to]
    date_to: date | None = None
    limit: int | None = 500
    offset: int = 0

    def validate(self) -> None:
        if self.category and self.category not in ALERT_CATEGORIES:
            known = ", ".join(ALERT_CATEGORIES)
            raise UserError(f"Unknown alert category '{self.category}'. Known: {known}.")
        if self.family and self.family not in FAMILIES:
            raise UserError(f"Unknown detector family '{self.family}'. Use malicious or agreement.")
        if self.severity and self.severity not in SEVERITIES:
            raise UserError(f"Unknown severity '{self.severity}'. Use one of {', '.join(SEVERITIES)}.")
        if self.status and self.status not in STATUSES:
            raise UserError(f"Unknown status '{self.status}'. Use one of {', '.join(STATUSES)}.")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise UserError("The start date is after the end date.")

    def as_params(self) -> dict[str, Any]:
        self.validate()
        categories: list[str] = list(FAMILIES.get(self.family or "", ()))
        if self.category:
            categories = [self.category] if not categories or self.category in categories else ["-none-"]
        after = day_start(self.date_from) if self.date_from else datetime(1971, 1, 1, tzinfo=SHANGHAI)
        before = (day_start(self.date_to + timedelta(days=1)) if self.date_to
                  else datetime(2105, 1, 1, tzinfo=SHANGHAI))
        return {
            "categories": categories,
            "severity": self.severity or "",
            "status": self.status or "",
            "detector_id": self.detector_id or "",
            "dataset_id": self.dataset_id or "",
            "consumer_id": self.consumer_id or "",
            "entity": self.entity or "",
            "assignee": self.assignee or "",
            "agency_id": self.agency_id or "",
            "group_key": self.group_key or "",
            "after": int(after.timestamp()),
            "before": int(before.timestamp()),
            "limit": self.limit if self.limit is not None else 2**62,
            "offset": self.offset,
        }


def _records(client: Client, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = client.query(sql, parameters=params)
    return [_local_times(dict(zip(result.column_names, row, strict=True))) for row in result.result_rows]


def _local_times(record: dict[str, Any]) -> dict[str, Any]:
    return {k: shanghai(v) if isinstance(v, datetime) else v for k, v in record.items()}


def save_alerts(client: Client, alerts: Iterable[Alert]) -> int:
    """Upsert alerts by id; returns how many distinct alerts were written."""
    unique = list({alert.alert_id: alert for alert in alerts}.values())
    if not unique:
        return 0
    name_agencies(client, unique)
    rows = [[
        a.alert_id, a.detector_id, a.category, a.article, a.severity, float(a.score), a.consumer_id,
        a.key_id, a.client_ip, a.dataset_id, a.agency_id, shanghai(a.window_start), shanghai(a.window_end),
        "", a.message, a.params_json(), a.evidence_json(), a.group_key,
    ] for a in unique]
    client.insert("alerts", rows, column_names=ALERT_COLUMNS)
    return len(unique)


def list_alerts(client: Client, filters: AlertFilters | None = None, *, grouped: bool = False
                ) -> list[dict[str, Any]]:
    """Alerts newest first, or with `grouped=True` one row per group of similar alerts. Each row's
    `title` (a group's `latest_title`) is rendered in the context's language (detectors.messages)."""
    params = (filters or AlertFilters()).as_params()
    rows = _records(client, LIST_GROUPS if grouped else LIST_ALERTS, params)
    for row in rows:
        if grouped:
            row["latest_title"] = alert_title({**row, "title": row["latest_stored_title"],
                                               "message_key": row["latest_message_key"],
                                               "message_params": row["latest_message_params"]})
        else:
            row["title"] = alert_title(row)
    return rows


def count_alerts(client: Client, filters: AlertFilters | None = None) -> int:
    params = (filters or AlertFilters()).as_params()
    return int(client.query(COUNT_ALERTS, parameters=params).result_rows[0][0])


def history(client: Client, alert_id: str) -> list[dict[str, Any]]:
    return _records(client, ALERT_HISTORY, {"alert_id": alert_id})


def get_alert(client: Client, alert_id: str) -> dict[str, Any] | None:
    """One alert with its evidence parsed, its status, assignee and history, and its group's size."""
    rows = _records(client, GET_ALERT, {"alert_id": alert_id})
    if not rows:
        return None
    alert = rows[0]
    alert["title"] = alert_title(alert)
    alert["evidence"] = json.loads(alert["evidence"] or "{}")
    events = history(client, alert_id)
    latest = events[-1] if events else {}
    alert["status"] = latest.get("status", "new")
    alert["assignee"] = latest.get("assignee", "")
    alert["violation_id"] = latest.get("violation_id", "")
    alert["history"] = events
    alert["group_size"] = int(client.query(GROUP_SIZE, parameters={"group_key": alert["group_key"]})
                              .result_rows[0][0])
    return alert


def alert_counts_by_severity(client: Client, agency_id: str | None = None, *, open_only: bool = True,
                             dataset_id: str | None = None, date_from: date | None = None,
                             date_to: date | None = None) -> dict[str, int]:
    """{severity: count} for every severity; by default only alerts still open (new or acknowledged).
    The dates keep the alerts whose window overlaps them, as in `list_alerts`."""
    within = AlertFilters(agency_id=agency_id, dataset_id=dataset_id, date_from=date_from, date_to=date_to)
    params = {**within.as_params(), "open_only": int(open_only)}
    counts = dict(client.query(COUNTS_BY_SEVERITY, parameters=params).result_rows)
    return {severity: int(counts.get(severity, 0)) for severity in SEVERITIES}


def verdict_labels(client: Client, detector_id: str | None = None) -> list[dict[str, Any]]:
    """Triage verdicts as labels for evaluating and tuning detectors."""
    return _records(client, VERDICT_LABELS, {"detector_id": detector_id or ""})


def label_summary(client: Client) -> list[dict[str, Any]]:
    """Per detector: alerts confirmed and dismissed by people, and the precision that implies."""
    tally: dict[str, dict[str, Any]] = {}
    for label in verdict_labels(client):
        row = tally.setdefault(label["detector_id"], {"detector_id": label["detector_id"],
                                                      "confirmed": 0, "dismissed": 0})
        row["confirmed" if label["label"] == "true_positive" else "dismissed"] += 1
    for row in tally.values():
        row["precision"] = row["confirmed"] / (row["confirmed"] + row["dismissed"])
    return sorted(tally.values(), key=lambda r: r["detector_id"])
