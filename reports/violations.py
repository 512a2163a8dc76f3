"""Violation records, the gateway enforcement list and the public notice: the read side (第三十一条).

DETECT-CORE's detectors.violations_store writes violations and measures and keeps
api_keys.status in step; this module only reads. The public notice is the one
output that leaves the government: it names organisations with their credit code,
masks natural persons, and carries no IP, key or free-text description.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from clickhouse_connect.driver.client import Client

from odwatch.settings import TIMEZONE

SHANGHAI = ZoneInfo(TIMEZONE)

CATEGORY_LABELS = {
    1: "违反开放平台管理制度",
    2: "采用非法手段获取公共数据",
    3: "侵犯商业秘密、个人隐私等他人合法权益",
    4: "超出数据利用协议限制的应用场景使用公共数据",
    5: "违反法律、法规、规章和数据利用协议的其他行为",
}
CATEGORY_NUMERALS = {1: "(一)", 2: "(二)", 3: "(三)", 4: "(四)", 5: "(五)"}
MEASURE_LABELS = {"none": "记录在案", "restrict": "限制数据获取权限", "close": "关闭数据获取权限"}
MAJOR_SEVERITIES = ("critical", "high")
KEY_STATUS = {"restrict": "restricted", "close": "closed"}
STATUS_STRENGTH = ("active", "restricted", "closed")

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
    v.publicized          AS publicized
FROM violations AS v FINAL
LEFT JOIN (SELECT consumer_id, name, kind, credit_code FROM consumers FINAL) AS c
       ON c.consumer_id = v.consumer_id
LEFT JOIN (SELECT dataset_id, name FROM datasets FINAL) AS d ON d.dataset_id = v.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS ag ON ag.agency_id = v.agency_id
WHERE ({year:UInt16} = 0 OR toYear(v.recorded_at) = {year:UInt16})
  AND ({agency_id:String} = '' OR v.agency_id = {agency_id:String})
  AND ({category:UInt8} = 0 OR v.category = {category:UInt8})
  AND ({publicized_only:UInt8} = 0 OR v.publicized = 1)
ORDER BY v.recorded_at DESC, v.violation_id
"""

MEASURES = """
SELECT measure_id, violation_id, consumer_id, key_id, toString(action) AS action,
       starts_at, ends_at, decided_by, reason
FROM measures FINAL
ORDER BY starts_at, measure_id
"""

RESTRICTED_KEYS = """
SELECT k.key_id AS key_id, k.consumer_id AS consumer_id, c.name AS consumer_name,
       k.created_at AS created_at, toString(k.status) AS status, k.updated_at AS updated_at
FROM api_keys AS k FINAL
LEFT JOIN (SELECT consumer_id, name FROM consumers FINAL) AS c ON c.consumer_id = k.consumer_id
WHERE k.status IN ('restricted', 'closed')
ORDER BY k.consumer_id, k.key_id
"""


def _local(value: datetime | None) -> datetime | None:
    return value.astimezone(SHANGHAI) if value is not None else None


def _rows(result) -> list[dict]:
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _measures_by_violation(client: Client) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for measure in _rows(client.query(MEASURES)):
        measure["starts_at"], measure["ends_at"] = _local(measure["starts_at"]), _local(measure["ends_at"])
        measure["action_label"] = MEASURE_LABELS.get(measure["action"], measure["action"])
        grouped[measure["violation_id"]].append(measure)
    return grouped


def _violations(client: Client, *, year: int | None = None, agency_id: str | None = None,
                category: int | None = None, publicized_only: bool = False) -> list[dict]:
    params = {"year": year or 0, "agency_id": agency_id or "", "category": category or 0,
              "publicized_only": int(publicized_only)}
    measures = _measures_by_violation(client)
    rows = _rows(client.query(VIOLATIONS, parameters=params))
    for row in rows:
        row["recorded_at"] = _local(row["recorded_at"])
        row["category_label"] = CATEGORY_LABELS.get(row["category"], "")
        row["article"] = f"第三十一条{CATEGORY_NUMERALS.get(row['category'], '')}"
        row["measures"] = measures.get(row["violation_id"], [])
        row["major"] = row["severity"] in MAJOR_SEVERITIES
    return rows


def list_violations(client: Client, year: int | None = None, agency_id: str | None = None,
                    category: int | None = None) -> list[dict]:
    """Violation records, newest first, each with its measures and the article's category label."""
    return _violations(client, year=year, agency_id=agency_id, category=category)


def _reaches(measure: dict, key: dict) -> bool:
    """A restricting measure reaches the key it names and every key of the consumer it names
    (as detectors.violations_store sets and lifts them)."""
    return measure["action"] in KEY_STATUS and (
        (measure["key_id"] != "" and measure["key_id"] == key["key_id"])
        or (measure["consumer_id"] != "" and measure["consumer_id"] == key["consumer_id"]))


def ended_measures(key: dict, measures: list[dict], at: datetime) -> list[dict]:
    """The measures reaching the key that ended by `at` after its status was written."""
    return [m for m in measures if _reaches(m, key)
            and m["ends_at"] is not None and key["updated_at"] < m["ends_at"] <= at]


def enforced(key: dict, measures: list[dict], at: datetime) -> tuple[str, dict | None]:
    """The status the gateway must apply at `at`, and the measure behind it.

    The stored status can lag: when measures end, detectors.violations_store.lift_expired_measures
    sets the keys back, by this same rule, only at its next run. So the status is lowered to the
    strongest measure still standing (in force or yet to start), or 'active' when none does, if
    a measure reaching the key ended after its status was written. A status with no measure
    behind it, or written after its measures ended, stands.
    """
    standing = [m for m in measures if _reaches(m, key) and (m["ends_at"] is None or m["ends_at"] > at)]
    status = key["status"]
    if ended_measures(key, measures, at):
        target = max((KEY_STATUS[m["action"]] for m in standing), key=STATUS_STRENGTH.index, default="active")
        status = min(status, target, key=STATUS_STRENGTH.index)
    behind = [m for m in standing if KEY_STATUS[m["action"]] == status] or standing
    return status, max(behind, key=lambda m: m["starts_at"], default=None)


def measures_and_restricted_keys(client: Client) -> tuple[list[dict], list[dict]]:
    """Every measure, and the keys stored as restricted or closed."""
    measures = [m for group in _measures_by_violation(client).values() for m in group]
    return measures, _rows(client.query(RESTRICTED_KEYS))


def enforcement_list(client: Client, at: datetime | None = None) -> list[dict]:
    """Keys the gateway must restrict or refuse at `at` (default: now), with the period of the
    measure behind each; keys whose measures have all ended are left out."""
    at = at.astimezone(SHANGHAI) if at else datetime.now(SHANGHAI)
    measures, keys = measures_and_restricted_keys(client)
    listing = []
    for key in keys:
        status, measure = enforced(key, measures, at)
        if status == "active":
            continue
        listing.append({
            "key_id": key["key_id"],
            "consumer_id": key["consumer_id"],
            "consumer_name": key["consumer_name"] or "",
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
