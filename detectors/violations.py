"""Violation records and access measures (第三十一条): their rules, writes and reads, in one place.

A violation comes from a confirmed alert or from another source: a public report (举报, whose
reporter's contact is kept and shown masked to everyone but security staff and administrators),
a complaint or an inspection, with evidence files stored under the data directory (checksummed,
size-limited, their type read from the content). Whatever the source, it is recorded in one of
the article's five categories and may carry
measures: none, restrict or close access, for a period or open-ended. A
restricting or closing measure also sets the consumer's API keys to that status,
which is what the gateway enforces; when a measure's period ends,
`lift_expired_measures` sets its keys back (run by `odwatch detect` and the serve
detector job), and `enforcement_list` applies the same rule at read time so the
gateway never waits for that run. Every write is an audit entry.

Rows are ReplacingMergeTree versions: an update writes the whole row again with
a later `updated_at`. The public notice is the one output that leaves the
government: it names organisations with their credit code, masks natural
persons, and carries no IP, key or free-text description.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import re
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from odwatch.clock import SHANGHAI, now, shanghai
from odwatch.errors import UserError
from odwatch.vocabulary import (
    KEY_STATUS,
    KEY_STATUS_STRENGTH,
    MAJOR_SEVERITIES,
    MEASURE_LABELS,
    MEASURES,
    SEVERITIES,
    VIOLATION_CATEGORIES,
    VIOLATION_NUMERALS,
)
from warehouse import audit

VIOLATION_COLUMNS = [
    "violation_id", "consumer_id", "key_id", "dataset_id", "agency_id", "category", "description",
    "alert_ids", "recorded_at", "recorded_by", "severity", "publicized", "updated_at",
    "source", "source_ref", "reporter_name", "reporter_contact", "client_ip",
]
# Where a violation came from: a confirmed alert, or 举报 / 投诉 / 检查.
SOURCES = ("alert", "report", "complaint", "inspection")
OTHER_SOURCES = SOURCES[1:]
ATTACHMENT_COLUMNS = ["attachment_id", "violation_id", "file_name", "media_type", "size", "sha256",
                      "stored_path", "uploaded_by", "uploaded_at"]
EVIDENCE_DIR = "evidence"
MEASURE_STRENGTH = ("none", "restrict", "close")
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
# (`_reaches`) by which the lifting below and the gateway list set them back.
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
                     alert_ids: list[str] | None = None, severity: str = "medium", source: str = "alert",
                     source_ref: str = "", reporter_name: str = "", reporter_contact: str = "") -> str:
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
        "severity": severity, "publicized": 0, "updated_at": recorded, "source": source,
        "source_ref": source_ref, "reporter_name": reporter_name, "reporter_contact": reporter_contact,
        "client_ip": client_ip,
    }
    _write_violation(client, row)
    # The audit entry says a reporter was recorded, not who: the trail is read by more people.
    audit.record(client, actor, "violation.record", "violation", violation_id,
                 {**{k: row[k] for k in ("consumer_id", "key_id", "dataset_id", "category", "alert_ids",
                                         "severity", "description", "source", "source_ref")},
                  "reporter_contact": mask_contact(reporter_contact)})
    return violation_id


def join_violation(client: Client, violation_id: str, alert_ids: list[str], actor: str,
                   severity: str | None = None) -> None:
    """Add alerts to an existing violation (its severity rises to the worst seen, never falls)."""
    row = get_violation(client, violation_id)
    if row is None:
        raise UserError(f"No violation record with id {violation_id}.")
    added = sorted(set(alert_ids) - set(row["alert_ids"]))
    row["alert_ids"] = sorted(set(row["alert_ids"]) | set(alert_ids))
    if severity and SEVERITIES.index(severity) > SEVERITIES.index(row["severity"]):
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
    return max(a, b, key=KEY_STATUS_STRENGTH.index)


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


# ---- violations from other sources, with evidence ---------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """An evidence file as uploaded: its name and its bytes."""

    file_name: str
    content: bytes


# What an evidence file may be, told by its content; the name's extension must agree with it.
EVIDENCE_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "text/plain": (".txt", ".csv", ".log", ".eml"),
}
_OOXML_PARTS = {
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def evidence_type(content: bytes) -> str | None:
    """The media type of an evidence file from its first bytes (and, for DOCX/XLSX, its parts);
    None for anything not in EVIDENCE_TYPES (an executable renamed .pdf among them)."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names:
            return next((kind for part, kind in _OOXML_PARTS.items() if part in names), None)
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain" if "\x00" not in text else None


def check_evidence(files: list[Evidence], max_bytes: int) -> list[tuple[Evidence, str]]:
    """Each file with its media type; a UserError naming the first file that is empty, too large, of a
    type not accepted, or whose extension does not match its content."""
    checked = []
    for file in files:
        name = Path(file.file_name or "").name
        if not name:
            raise UserError("An evidence file has no name.")
        if not file.content:
            raise UserError(f"The evidence file {name} is empty.")
        if len(file.content) > max_bytes:
            raise UserError(f"The evidence file {name} is {len(file.content) / 1048576:.1f} MB; "
                            f"files up to {max_bytes / 1048576:.1f} MB are accepted.")
        kind = evidence_type(file.content)
        if kind is None:
            accepted = ", ".join(ext for exts in EVIDENCE_TYPES.values() for ext in exts)
            raise UserError(f"The evidence file {name} is not of an accepted type ({accepted}), "
                            "judged by its content.")
        if Path(name).suffix.lower() not in EVIDENCE_TYPES[kind]:
            raise UserError(f"The evidence file {name} holds {kind}, which its extension does not say; "
                            f"rename it to {EVIDENCE_TYPES[kind][0]}.")
        checked.append((Evidence(name, file.content), kind))
    return checked


_SAFE_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)


def _store_evidence(client: Client, data_dir: Path, violation_id: str, checked: list[tuple[Evidence, str]],
                    actor: str) -> list[str]:
    """Write each file under <data dir>/evidence/<violation>/ and record it; returns the attachment ids."""
    folder = Path(EVIDENCE_DIR) / violation_id
    (data_dir / folder).mkdir(parents=True, exist_ok=True)
    rows, ids = [], []
    uploaded = _version_after(None)
    for index, (file, kind) in enumerate(checked):
        digest = hashlib.sha256(file.content).hexdigest()
        relative = folder / f"{digest[:16]}-{_SAFE_NAME.sub('_', file.file_name)}"
        try:
            (data_dir / relative).write_bytes(file.content)
        except OSError as exc:
            raise UserError(f"Cannot store the evidence file {file.file_name}: {exc.strerror}.") from None
        attachment_id = f"F{uuid.uuid4().hex[:12]}"
        rows.append([attachment_id, violation_id, file.file_name, kind, len(file.content), digest,
                     str(relative), actor, uploaded + timedelta(milliseconds=index)])
        ids.append(attachment_id)
    if rows:
        client.insert("violation_attachments", rows, column_names=ATTACHMENT_COLUMNS)
        for row in rows:
            audit.record(client, actor, "violation.attachment", "violation", violation_id, {
                "attachment_id": row[0], "file_name": row[2], "media_type": row[3], "size": row[4],
                "sha256": row[5]})
    return ids


EXISTING_ALERTS = "SELECT alert_id FROM alerts FINAL WHERE alert_id IN {alert_ids:Array(String)}"
AGENCY_OF_DATASET = "SELECT agency_id FROM datasets FINAL WHERE dataset_id = {dataset_id:String}"


def record_from_source(client: Client, *, source: str, category: int, actor: str, description: str,
                       data_dir: Path, max_bytes: int, consumer_id: str = "", key_id: str = "",
                       client_ip: str = "", dataset_id: str = "", agency_id: str = "",
                       reporter_name: str = "", reporter_contact: str = "", source_ref: str = "",
                       alert_ids: list[str] | None = None, evidence: list[Evidence] | None = None,
                       measure: str = "none", measure_days: int | None = None,
                       severity: str = "medium") -> str:
    """A violation from a report (举报), a complaint or an inspection, with its evidence; returns its id.

    Everything is checked before anything is written (a refused file or an unknown alert changes
    nothing); then the record, the evidence files and the measure, each audited.
    """
    actor = (actor or "").strip()
    if not actor:
        raise UserError("Say who is recording the violation.")
    if source not in OTHER_SOURCES:
        raise UserError(f"Unknown source '{source}'. Use report, complaint or inspection "
                        "(alerts are confirmed through triage).")
    check_category(category)
    check_measure(measure, measure_days)
    if severity not in SEVERITIES:
        raise UserError(f"Unknown severity '{severity}'.")
    if not description.strip():
        raise UserError("Describe what happened: the record needs a description.")
    if client_ip:
        try:
            ipaddress.ip_address(client_ip.strip())
        except ValueError:
            raise UserError(f"'{client_ip}' is not an IP address.") from None
    if measure != "none" and not (consumer_id or key_id):
        raise UserError("Access can only be restricted or closed for a known consumer or API key.")
    ids = sorted(set(alert_ids or []))
    if ids:
        found = {r[0] for r in client.query(EXISTING_ALERTS, parameters={"alert_ids": ids}).result_rows}
        missing = [i for i in ids if i not in found]
        if missing:
            raise UserError(f"No alert with id {', '.join(missing)}.")
    checked = check_evidence(list(evidence or []), max_bytes)
    if dataset_id and not agency_id:
        owner = client.query(AGENCY_OF_DATASET, parameters={"dataset_id": dataset_id}).result_rows
        agency_id = owner[0][0] if owner else ""
    violation_id = record_violation(
        client, consumer_id=consumer_id, key_id=key_id, client_ip=client_ip.strip(), category=category,
        actor=actor, dataset_id=dataset_id, agency_id=agency_id, description=description.strip(),
        alert_ids=ids, severity=severity, source=source, source_ref=source_ref.strip(),
        reporter_name=reporter_name.strip(), reporter_contact=reporter_contact.strip())
    _store_evidence(client, data_dir, violation_id, checked, actor)
    add_measure(client, violation_id, measure, actor, days=measure_days, reason=description.strip())
    return violation_id


ATTACHMENTS = """
SELECT attachment_id, violation_id, file_name, toString(media_type) AS media_type, size, sha256, stored_path,
       uploaded_by, uploaded_at
FROM violation_attachments
WHERE violation_id = {violation_id:String}
ORDER BY uploaded_at, attachment_id
"""


def attachments(client: Client, violation_id: str) -> list[dict]:
    rows = _rows(client.query(ATTACHMENTS, parameters={"violation_id": violation_id}))
    for row in rows:
        row["uploaded_at"] = _local(row["uploaded_at"])
    return rows


def read_attachment(data_dir: Path, attachment: dict) -> bytes:
    """An evidence file's bytes; a UserError when it is gone or no longer matches its checksum."""
    path = data_dir / attachment["stored_path"]
    try:
        content = path.read_bytes()
    except OSError:
        raise UserError(f"The evidence file {attachment['file_name']} is missing from the data directory.") \
            from None
    if hashlib.sha256(content).hexdigest() != attachment["sha256"]:
        raise UserError(f"The evidence file {attachment['file_name']} was changed after it was stored "
                        "(its checksum no longer matches).")
    return content


# ---- masking --------------------------------------------------------------------------------------

def mask_contact(contact: str) -> str:
    """A reporter's contact as people other than security staff see it: 138****5678, z***@example.com."""
    contact = (contact or "").strip()
    if not contact:
        return ""
    if "@" in contact:
        user, _, domain = contact.partition("@")
        return f"{user[:1]}***@{domain}"
    digits = re.sub(r"\D", "", contact)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return contact[:1] + "***"


def mask_ip(ip: str) -> str:
    """The network an address belongs to, not the address: 203.0.*.*, 2001:db8:1::*."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return "***"
    if address.version == 4:
        a, b, _, _ = str(address).split(".")
        return f"{a}.{b}.*.*"
    return f"{ipaddress.ip_network(f'{address}/48', strict=False).network_address}*"


def mask_key(key_id: str) -> str:
    return f"{key_id[:4]}****" if key_id else ""


# ---- offender history -----------------------------------------------------------------------------

CONSUMER = """
SELECT consumer_id, name, toString(kind) AS kind, credit_code
FROM consumers FINAL
WHERE consumer_id = {consumer_id:String}
"""

ACCOUNTS_OF_CODE = """
SELECT consumer_id, name, toString(kind) AS kind, credit_code
FROM consumers FINAL
WHERE credit_code = {credit_code:String}
ORDER BY consumer_id
"""

VERDICTS = """
SELECT a.alert_id AS alert_id, toString(a.category) AS category, toString(a.severity) AS severity,
       a.consumer_id AS consumer_id, a.dataset_id AS dataset_id, a.agency_id AS agency_id,
       a.window_start AS window_start, toString(e.status) AS status, e.last_at AS decided_at
FROM alerts AS a FINAL
INNER JOIN (SELECT alert_id, argMax(status, at) AS status, max(at) AS last_at FROM alert_events
            GROUP BY alert_id)
        AS e ON e.alert_id = a.alert_id
WHERE a.consumer_id IN {consumer_ids:Array(String)} AND e.status IN ('confirmed', 'dismissed')
ORDER BY decided_at DESC
"""


@dataclass
class OffenderHistory:
    """What a consumer (and every account of the same 统一社会信用代码) has done before, across agencies."""

    consumer_ids: list[str]
    name: str
    kind: str
    credit_code: str
    violations: list[dict] = field(default_factory=list)          # newest first, every source
    recent: int = 0                                               # violations within the window
    window_days: int = 365
    confirmed_alerts: int = 0
    dismissed_alerts: int = 0
    agencies: list[str] = field(default_factory=list)             # agencies whose data was misused
    strongest_recent_measure: str = "none"
    proposal: dict | None = None                                  # {"measure", "days", "ordinal"}

    @property
    def next_ordinal(self) -> int:
        """The number a new violation would have within the window ("the third in 12 months")."""
        return self.recent + 1


def propose_measure(ordinal: int, strongest_recent: str, steps: list[Any]) -> dict | None:
    """The repeat-offence rule: the measure of the highest step whose count `ordinal` reaches, and at
    least one step stronger than the strongest measure already taken within the window; None when
    no step applies."""
    reached = [s for s in sorted(steps, key=lambda s: s.violations) if ordinal >= s.violations]
    if not reached:
        return None
    step = reached[-1]
    measure, days = step.measure, step.days
    stronger = MEASURE_STRENGTH[min(MEASURE_STRENGTH.index(strongest_recent) + 1, len(MEASURE_STRENGTH) - 1)]
    if strongest_recent != "none" and MEASURE_STRENGTH.index(stronger) > MEASURE_STRENGTH.index(measure):
        measure = stronger
        days = next((s.days for s in steps if s.measure == measure), None)
    return {"measure": measure, "days": days, "ordinal": ordinal, "step": step.violations}


def offender_history(client: Client, *, consumer_id: str = "", credit_code: str = "",
                     at: datetime | None = None, window_days: int = 365,
                     steps: list[Any] | None = None) -> OffenderHistory | None:
    """The history of a consumer, or of every account with a credit code; None when neither is known.

    A company's several accounts count as one offender: a consumer with a credit code brings the
    other accounts that share it. `steps` (settings.repeat_offence.steps) give the proposal.
    """
    at = shanghai(at) if at else now()
    accounts: list[dict] = []
    if consumer_id:
        accounts = _rows(client.query(CONSUMER, parameters={"consumer_id": consumer_id}))
        if accounts and accounts[0]["credit_code"]:
            credit_code = accounts[0]["credit_code"]
        elif not accounts:
            accounts = [{"consumer_id": consumer_id, "name": "", "kind": "", "credit_code": ""}]
    if credit_code:
        accounts = _rows(client.query(ACCOUNTS_OF_CODE, parameters={"credit_code": credit_code})) or accounts
    if not accounts:
        return None
    ids = [a["consumer_id"] for a in accounts]
    first = next((a for a in accounts if a["consumer_id"] == consumer_id), accounts[0])
    history = OffenderHistory(consumer_ids=ids, name=first["name"], kind=first["kind"],
                              credit_code=credit_code, window_days=window_days)
    history.violations = _violations(client, consumer_ids=ids)
    since = at - timedelta(days=window_days)
    recent = [v for v in history.violations if since <= v["recorded_at"] <= at]
    history.recent = len(recent)
    history.agencies = sorted({v["agency_name"] or v["agency_id"] for v in history.violations
                               if v["agency_id"]})
    taken = [m["action"] for v in recent for m in v["measures"]]
    history.strongest_recent_measure = max(taken, key=MEASURE_STRENGTH.index, default="none")
    verdicts = _rows(client.query(VERDICTS, parameters={"consumer_ids": ids}))
    history.confirmed_alerts = sum(1 for v in verdicts if v["status"] == "confirmed")
    history.dismissed_alerts = sum(1 for v in verdicts if v["status"] == "dismissed")
    if steps is not None:
        history.proposal = propose_measure(history.next_ordinal, history.strongest_recent_measure, steps)
    return history


# ---- reads ----------------------------------------------------------------------------------------

CONSUMER_CHOICES = """
SELECT consumer_id, name, toString(kind) AS kind, credit_code
FROM consumers FINAL
ORDER BY consumer_id
"""

DATASET_CHOICES = """
SELECT dataset_id, name, agency_id
FROM datasets FINAL
ORDER BY dataset_id
"""


def consumer_choices(client: Client) -> list[dict]:
    """Every registered consumer (id, name, kind, credit code), for choosing whom a record is about."""
    return _rows(client.query(CONSUMER_CHOICES))


def dataset_choices(client: Client) -> list[dict]:
    return _rows(client.query(DATASET_CHOICES))

VIOLATIONS = """
SELECT
    v.violation_id        AS violation_id,
    v.consumer_id         AS consumer_id,
    c.name                AS consumer_name,
    toString(c.kind)      AS consumer_kind,
    c.credit_code         AS credit_code,
    v.key_id              AS key_id,
    v.dataset_id          AS dataset_id,
    d.name                AS dataset_name,
    v.agency_id           AS agency_id,
    ag.name               AS agency_name,
    v.category            AS category,
    v.description         AS description,
    v.alert_ids           AS alert_ids,
    v.recorded_at         AS recorded_at,
    v.recorded_by         AS recorded_by,
    toString(v.severity)  AS severity,
    v.publicized          AS publicized,
    toString(v.source)    AS source,
    v.source_ref          AS source_ref,
    v.reporter_name       AS reporter_name,
    v.reporter_contact    AS reporter_contact,
    v.client_ip           AS client_ip,
    f.files               AS attachments
FROM violations AS v FINAL
LEFT JOIN (SELECT consumer_id, name, kind, credit_code FROM consumers FINAL) AS c
       ON c.consumer_id = v.consumer_id
LEFT JOIN (SELECT dataset_id, name FROM datasets FINAL) AS d ON d.dataset_id = v.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS ag ON ag.agency_id = v.agency_id
LEFT JOIN (SELECT violation_id, count() AS files FROM violation_attachments GROUP BY violation_id) AS f
       ON f.violation_id = v.violation_id
WHERE ({year:UInt16} = 0 OR toYear(v.recorded_at) = {year:UInt16})
  AND ({agency_id:String} = '' OR v.agency_id = {agency_id:String})
  AND ({category:UInt8} = 0 OR v.category = {category:UInt8})
  AND ({publicized_only:UInt8} = 0 OR v.publicized = 1)
  AND (empty({consumer_ids:Array(String)}) OR has({consumer_ids:Array(String)}, v.consumer_id))
  AND ({source:String} = '' OR v.source = {source:String})
ORDER BY v.recorded_at DESC, v.violation_id
"""

ALL_MEASURES = """
SELECT measure_id, violation_id, consumer_id, key_id, toString(action) AS action,
       starts_at, ends_at, decided_by, reason
FROM measures FINAL
ORDER BY starts_at, measure_id
"""

RESTRICTED_KEYS = """
SELECT k.key_id AS key_id, k.consumer_id AS consumer_id, c.name AS consumer_name,
       c.kind AS consumer_kind,
       k.created_at AS created_at, toString(k.status) AS status, k.updated_at AS updated_at
FROM api_keys AS k FINAL
LEFT JOIN (SELECT consumer_id, name, toString(kind) AS kind FROM consumers FINAL) AS c
    ON c.consumer_id = k.consumer_id
WHERE k.status IN ('restricted', 'closed')
ORDER BY k.consumer_id, k.key_id
"""


def _local(value: datetime | None) -> datetime | None:
    return value.astimezone(SHANGHAI) if value is not None else None


def _rows(result) -> list[dict]:
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _measures_by_violation(client: Client) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for measure in _rows(client.query(ALL_MEASURES)):
        measure["starts_at"], measure["ends_at"] = _local(measure["starts_at"]), _local(measure["ends_at"])
        measure["action_label"] = MEASURE_LABELS.get(measure["action"], measure["action"])
        grouped[measure["violation_id"]].append(measure)
    return grouped


def _violations(client: Client, *, year: int | None = None, agency_id: str | None = None,
                category: int | None = None, publicized_only: bool = False,
                consumer_ids: list[str] | None = None, source: str | None = None) -> list[dict]:
    params = {"year": year or 0, "agency_id": agency_id or "", "category": category or 0,
              "publicized_only": int(publicized_only), "consumer_ids": consumer_ids or [],
              "source": source or ""}
    measures = _measures_by_violation(client)
    rows = _rows(client.query(VIOLATIONS, parameters=params))
    for row in rows:
        row["recorded_at"] = _local(row["recorded_at"])
        row["category_label"] = VIOLATION_CATEGORIES.get(row["category"], "")
        row["article"] = f"第三十一条{VIOLATION_NUMERALS.get(row['category'], '')}"
        row["measures"] = measures.get(row["violation_id"], [])
        row["major"] = row["severity"] in MAJOR_SEVERITIES
    return rows


def list_violations(client: Client, year: int | None = None, agency_id: str | None = None,
                    category: int | None = None, source: str | None = None) -> list[dict]:
    """Violation records, newest first, each with its measures and the article's category label."""
    return _violations(client, year=year, agency_id=agency_id, category=category, source=source)


def _reaches(measure: dict, key: dict) -> bool:
    """A restricting measure reaches the key it names and every key of the consumer it names
    (as `add_measure` sets and `lift_expired_measures` lifts them)."""
    return measure["action"] in KEY_STATUS and (
        (measure["key_id"] != "" and measure["key_id"] == key["key_id"])
        or (measure["consumer_id"] != "" and measure["consumer_id"] == key["consumer_id"]))


def ended_measures(key: dict, measures: list[dict], at: datetime) -> list[dict]:
    """The measures reaching the key that ended by `at` after its status was written."""
    return [m for m in measures if _reaches(m, key)
            and m["ends_at"] is not None and key["updated_at"] < m["ends_at"] <= at]


def enforced(key: dict, measures: list[dict], at: datetime) -> tuple[str, dict | None]:
    """The status the gateway must apply at `at`, and the measure behind it.

    The stored status can lag: when measures end, `lift_expired_measures`
    sets the keys back, by this same rule, only at its next run. So the status is lowered to the
    strongest measure still standing (in force or yet to start), or 'active' when none does, if
    a measure reaching the key ended after its status was written. A status with no measure
    behind it, or written after its measures ended, stands.
    """
    standing = [m for m in measures if _reaches(m, key) and (m["ends_at"] is None or m["ends_at"] > at)]
    status = key["status"]
    if ended_measures(key, measures, at):
        target = max((KEY_STATUS[m["action"]] for m in standing), key=KEY_STATUS_STRENGTH.index,
                     default="active")
        status = min(status, target, key=KEY_STATUS_STRENGTH.index)
    behind = [m for m in standing if KEY_STATUS[m["action"]] == status] or standing
    return status, max(behind, key=lambda m: m["starts_at"], default=None)


def measures_and_restricted_keys(client: Client) -> tuple[list[dict], list[dict]]:
    """Every measure, and the keys stored as restricted or closed."""
    measures = [m for group in _measures_by_violation(client).values() for m in group]
    return measures, _rows(client.query(RESTRICTED_KEYS))


def enforcement_list(client: Client, at: datetime | None = None) -> list[dict]:
    """Keys the gateway must restrict or refuse at `at` (default: now), with the period of the
    measure behind each; keys whose measures have all ended are left out."""
    at = shanghai(at) if at else now()
    measures, keys = measures_and_restricted_keys(client)
    listing = []
    for key in keys:
        status, measure = enforced(key, measures, at)
        if status == "active":
            continue
        listing.append({
            "key_id": key["key_id"],
            "consumer_id": key["consumer_id"],
            "consumer_name": listed_name(key["consumer_name"], key["consumer_kind"]),
            "status": status,
            "starts_at": measure["starts_at"] if measure else None,
            "ends_at": measure["ends_at"] if measure else None,
            "violation_id": measure["violation_id"] if measure else "",
            "measure_id": measure["measure_id"] if measure else "",
        })
    return listing


def mask_person_name(name: str) -> str:
    """Keep the family name, mask the rest: 张三 -> 张*, 欧阳小明 -> 欧***."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "个人"


def listed_name(name: str | None, kind: str | None) -> str:
    """A consumer's name as a list leaving the console carries it (the gateway's enforcement list):
    organisations in full, natural persons (or a consumer of unknown kind) masked."""
    if not name:
        return ""
    return name if kind in ("company", "organisation") else mask_person_name(name)


def _public_subject(row: dict) -> tuple[str, str]:
    """(name, credit code) as the notice may show them: organisations in full, persons masked."""
    if not row["consumer_id"]:
        return "匿名访问者", ""
    if row["consumer_kind"] in ("company", "organisation"):
        return row["consumer_name"] or row["consumer_id"], row["credit_code"] or ""
    return mask_person_name(row["consumer_name"]), ""


def public_notice(client: Client) -> list[dict]:
    """第三十一条 公示: publicized records only, without IPs, keys, free text or personal details."""
    notice = []
    for row in _violations(client, publicized_only=True):
        name, credit_code = _public_subject(row)
        measure = max(row["measures"], key=lambda m: m["starts_at"], default=None)
        notice.append({
            "notice_id": row["violation_id"],
            "subject": name,
            "subject_kind": row["consumer_kind"] or ("anonymous" if not row["consumer_id"] else ""),
            "credit_code": credit_code,
            "dataset": row["dataset_name"] or row["dataset_id"],
            "agency": row["agency_name"] or row["agency_id"],
            "category": row["category"],
            "category_label": f"{row['article']} {row['category_label']}",
            "measure": MEASURE_LABELS.get(measure["action"], "") if measure else MEASURE_LABELS["none"],
            "measure_from": measure["starts_at"].date() if measure else None,
            "measure_until": measure["ends_at"].date() if measure and measure["ends_at"] else None,
            "recorded_on": row["recorded_at"].date(),
        })
    return notice
