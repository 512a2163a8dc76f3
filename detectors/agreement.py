"""Use beyond the agreement (第二十条, 第二十六条, 第二十九条, 第三十一条(四)(五)).

One detector, `AgreementDetector(rule=...)`, and a table of eight rules that
hold the access log against the reference data: the agreements (validity,
fields, scenarios, quotas, IP allowlists), the catalog's open class, complaint
suspensions and the usage-report calendar. Each rule has its own query, its
own parameters, the test a row must pass and the alert it becomes; the
detector's id is `agreement.<rule>`, so `[detectors."agreement.quota_exceeded"]`
in the config tunes that rule alone.

Seven rules report per (entity, dataset, Shanghai day): the alert window is the
whole day even when the run covers part of it, so an incremental run that sees
more of the same day recomputes the same alert id and replaces it. Their
queries return only the days that break the rule (a day of lawful use is not a
row), which `score` then checks and grades.

Only calls that got data (status < 400 by default) count as use: a call the
gateway refused is not use beyond the agreement (probing looks at those).

Where a consumer has several agreements for one dataset (renewals, amendments),
a call is lawful when any agreement valid on that day permits it. An empty
`allowed_fields`, `scenarios` or `ip_allowlist`, or a quota of 0, means the
agreement sets no limit there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors.base import Alert, Detector, Window, check_params
from odwatch.clock import day_window, epoch, floor_to_day, shanghai
from odwatch.errors import UserError

# ---------------------------------------------------------------------------------------------------
# Shared query text

# Every agreement of a (consumer, dataset) pair as parallel arrays, so one join
# brings all of a pair's terms and lambdas pick those valid on the call's day.
# IP allowlist entries become CIDR ranges; malformed entries are dropped rather
# than failing the whole run.
TERMS = """
terms AS (
    SELECT
        consumer_id,
        dataset_id,
        groupArray(agreement_id)     AS agreement_ids,
        groupArray(valid_from)       AS froms,
        groupArray(valid_to)         AS tos,
        groupArray(scenarios)        AS scenario_sets,
        groupArray(allowed_fields)   AS field_sets,
        groupArray(arrayMap(
            c -> if(position(c, '/') > 0, c, concat(c, if(position(c, ':') > 0, '/128', '/32'))),
            arrayFilter(
                c -> (isIPv4String(splitByChar('/', c)[1])
                      AND toUInt8OrZero(if(position(c, '/') > 0, splitByChar('/', c)[2], '32')) <= 32)
                  OR (isIPv6String(splitByChar('/', c)[1])
                      AND toUInt8OrZero(if(position(c, '/') > 0, splitByChar('/', c)[2], '128')) <= 128),
                arrayMap(c -> trim(c), ip_allowlist))
        ))                           AS ip_sets,
        groupArray(daily_call_quota) AS call_quotas,
        groupArray(daily_row_quota)  AS row_quotas
    FROM agreements FINAL
    GROUP BY consumer_id, dataset_id
)
"""

IN_WINDOW = """
    ts >= toDateTime({start:Int64}, 'Asia/Shanghai')
    AND ts < toDateTime({end:Int64}, 'Asia/Shanghai')
    AND status < {max_status:UInt16}
"""

# A consumer's use of each dataset it has an agreement for, per day: grouped first, then joined to the
# agreements, so the join sees thousands of rows instead of millions.
DAILY_USE = f"""
    SELECT
        consumer_id,
        toString(dataset_id)                    AS dataset_id,
        toDate(ts)                              AS day,
        count()                                 AS calls,
        sum(rows)                               AS rows_returned
    FROM access_log
    WHERE {IN_WINDOW}
      AND consumer_id != ''
      AND dataset_id IN (SELECT dataset_id FROM agreements)
    GROUP BY consumer_id, dataset_id, day
"""

VALID_ON_DAY = "arrayExists((f, t) -> u.day BETWEEN f AND t, a.froms, a.tos)"

# ---------------------------------------------------------------------------------------------------
# One query per rule

NO_AGREEMENT = f"""
WITH conditional AS (
    SELECT dataset_id FROM datasets FINAL WHERE has({{open_classes:Array(String)}}, toString(open_class))
)
SELECT
    consumer_id,
    if(consumer_id = '', client_ip, '')         AS ip,
    dataset_id,
    toDate(ts)                                  AS day,
    count()                                     AS calls,
    sum(rows)                                   AS rows_returned
FROM access_log
WHERE {IN_WINDOW}
  AND dataset_id IN (SELECT dataset_id FROM conditional)
  AND (consumer_id, toString(dataset_id)) NOT IN (SELECT consumer_id, dataset_id FROM agreements FINAL)
GROUP BY consumer_id, ip, dataset_id, day
"""

OUTSIDE_VALIDITY = f"""
WITH {TERMS}
SELECT u.consumer_id, u.dataset_id, u.day, u.calls, u.rows_returned, a.agreement_ids, a.froms, a.tos
FROM ({DAILY_USE}) AS u
INNER JOIN terms AS a ON a.consumer_id = u.consumer_id AND a.dataset_id = u.dataset_id
WHERE NOT {VALID_ON_DAY}
"""

# The quota of a day is the most generous one among the agreements valid that
# day; 0 means unlimited, so any valid 0 lifts the limit.
CALL_QUOTAS_OF_DAY = "arrayFilter((q, f, t) -> u.day BETWEEN f AND t, a.call_quotas, a.froms, a.tos)"
ROW_QUOTAS_OF_DAY = "arrayFilter((q, f, t) -> u.day BETWEEN f AND t, a.row_quotas, a.froms, a.tos)"
QUOTA_EXCEEDED = f"""
WITH {TERMS}
SELECT
    u.consumer_id, u.dataset_id, u.day, u.calls, u.rows_returned,
    a.agreement_ids, a.froms, a.tos, a.call_quotas, a.row_quotas
FROM ({DAILY_USE}) AS u
INNER JOIN terms AS a ON a.consumer_id = u.consumer_id AND a.dataset_id = u.dataset_id
WHERE {VALID_ON_DAY}
  AND (
      (NOT has({CALL_QUOTAS_OF_DAY}, 0) AND u.calls > arrayMax({CALL_QUOTAS_OF_DAY}))
      OR (NOT has({ROW_QUOTAS_OF_DAY}, 0) AND u.rows_returned > arrayMax({ROW_QUOTAS_OF_DAY}))
  )
"""

# Fields, scenarios and IPs: group the day's calls by the attribute checked,
# join the terms, keep the groups no valid agreement permits, then fold to days.
FIELDS_OUTSIDE = f"""
WITH {TERMS}
SELECT
    consumer_id, dataset_id, day,
    sum(n)                                      AS calls,
    sumMap(outside, arrayMap(x -> n, outside)) AS outside_fields,
    arrayDistinct(arrayFlatten(groupArray(arrayFlatten(valid_sets)))) AS allowed
FROM (
    SELECT
        u.consumer_id AS consumer_id, u.dataset_id AS dataset_id, u.day AS day, u.calls AS n,
        arrayFilter((s, f, t) -> u.day BETWEEN f AND t, a.field_sets, a.froms, a.tos) AS valid_sets,
        arrayFilter(x -> NOT arrayExists(s -> empty(s) OR has(s, x), valid_sets),
                    arrayMap(x -> toString(x), u.requested)) AS outside
    FROM (
        SELECT
            consumer_id,
            toString(dataset_id)                AS dataset_id,
            toDate(ts)                          AS day,
            fields                              AS requested,
            count()                             AS calls
        FROM access_log
        WHERE {IN_WINDOW}
          AND consumer_id != ''
          AND notEmpty(fields)
          AND dataset_id IN (SELECT dataset_id FROM agreements)
        GROUP BY consumer_id, dataset_id, day, requested
    ) AS u
    INNER JOIN terms AS a ON a.consumer_id = u.consumer_id AND a.dataset_id = u.dataset_id
)
WHERE notEmpty(valid_sets) AND notEmpty(outside)
GROUP BY consumer_id, dataset_id, day
"""

SCENARIO_MISMATCH = f"""
WITH {TERMS}
SELECT
    consumer_id, dataset_id, day,
    sum(n)                                      AS calls,
    sumMap([scenario], [n])                     AS scenarios_used,
    arrayDistinct(arrayFlatten(groupArray(arrayFlatten(valid_sets)))) AS allowed
FROM (
    SELECT
        u.consumer_id AS consumer_id, u.dataset_id AS dataset_id, u.day AS day, u.calls AS n,
        u.scenario AS scenario,
        arrayFilter((s, f, t) -> u.day BETWEEN f AND t, a.scenario_sets, a.froms, a.tos) AS valid_sets
    FROM (
        SELECT
            consumer_id,
            toString(dataset_id)                AS dataset_id,
            toDate(ts)                          AS day,
            toString(scenario)                  AS scenario,
            count()                             AS calls
        FROM access_log
        WHERE {IN_WINDOW}
          AND consumer_id != ''
          AND (scenario != '' OR {{empty_scenario_is_mismatch:UInt8}})
          AND dataset_id IN (SELECT dataset_id FROM agreements)
        GROUP BY consumer_id, dataset_id, day, scenario
    ) AS u
    INNER JOIN terms AS a ON a.consumer_id = u.consumer_id AND a.dataset_id = u.dataset_id
)
WHERE notEmpty(valid_sets) AND NOT arrayExists(s -> empty(s) OR has(s, scenario), valid_sets)
GROUP BY consumer_id, dataset_id, day
"""

# A client IP that is not an address at all can be in no allowlist: it is
# checked as 0.0.0.0 (never listed) and reported as received.
IP_OUTSIDE_ALLOWLIST = f"""
WITH {TERMS}
SELECT
    consumer_id, dataset_id, day,
    sum(n)                                      AS calls,
    sumMap([client_ip], [n])                    AS outside_ips,
    arrayDistinct(arrayFlatten(groupArray(arrayFlatten(valid_sets)))) AS allowlist
FROM (
    SELECT
        u.consumer_id AS consumer_id, u.dataset_id AS dataset_id, u.day AS day, u.calls AS n,
        u.client_ip AS client_ip,
        if(isIPv4String(u.client_ip) OR isIPv6String(u.client_ip), u.client_ip, '0.0.0.0') AS checked_ip,
        arrayFilter((s, f, t) -> u.day BETWEEN f AND t, a.ip_sets, a.froms, a.tos) AS valid_sets
    FROM (
        SELECT
            consumer_id,
            toString(dataset_id)                AS dataset_id,
            toDate(ts)                          AS day,
            client_ip,
            count()                             AS calls
        FROM access_log
        WHERE {IN_WINDOW}
          AND consumer_id != ''
          AND dataset_id IN (SELECT dataset_id FROM agreements)
        GROUP BY consumer_id, dataset_id, day, client_ip
    ) AS u
    INNER JOIN terms AS a ON a.consumer_id = u.consumer_id AND a.dataset_id = u.dataset_id
)
WHERE notEmpty(valid_sets)
  AND NOT arrayExists(s -> empty(s) OR arrayExists(c -> isIPAddressInRange(checked_ip, c), s), valid_sets)
GROUP BY consumer_id, dataset_id, day
"""

# Suspension periods: a complaint's suspended_at .. resolved_at (open-ended
# while unresolved or when the data was withdrawn), and a catalog status of
# suspended/withdrawn from the first time that status was recorded.
SUSPENDED_DATASET = """
WITH periods AS (
    SELECT dataset_id, groupArray(from_ts) AS froms, groupArray(to_ts) AS tos, groupArray(source) AS sources
    FROM (
        SELECT dataset_id,
               toDateTime(assumeNotNull(suspended_at), 'Asia/Shanghai')                    AS from_ts,
               if(resolved_at IS NULL OR outcome = 'withdrawn',
                  toDateTime('2105-12-31 00:00:00', 'Asia/Shanghai'),
                  toDateTime(assumeNotNull(resolved_at), 'Asia/Shanghai'))                  AS to_ts,
               concat('complaint ', complaint_id)                                           AS source
        FROM complaints FINAL
        WHERE suspended_at IS NOT NULL
        UNION ALL
        SELECT d.dataset_id,
               toDateTime(s.since, 'Asia/Shanghai'),
               toDateTime('2105-12-31 00:00:00', 'Asia/Shanghai'),
               concat('catalog status ', toString(d.status))
        FROM datasets AS d FINAL
        INNER JOIN (
            SELECT dataset_id, status, min(updated_at) AS since
            FROM datasets
            WHERE status IN ('suspended', 'withdrawn')
            GROUP BY dataset_id, status
        ) AS s ON s.dataset_id = d.dataset_id AND s.status = d.status
        WHERE d.status IN ('suspended', 'withdrawn')
    )
    GROUP BY dataset_id
)
SELECT
    consumer_id, ip, dataset_id, day,
    count()                                     AS calls,
    sum(rows)                                   AS rows_returned,
    groupUniqArrayArray(source)                 AS sources
FROM (
    SELECT l.consumer_id AS consumer_id, if(l.consumer_id = '', l.client_ip, '') AS ip,
           toString(l.dataset_id) AS dataset_id, toDate(l.ts) AS day, l.ts AS ts, l.rows AS rows,
           l.client_ip AS client_ip,
           arrayFilter((s, f, t) -> l.ts >= f AND l.ts < t, p.sources, p.froms, p.tos) AS source
    FROM access_log AS l
    INNER JOIN periods AS p ON p.dataset_id = l.dataset_id
    WHERE l.ts >= toDateTime({start:Int64}, 'Asia/Shanghai')
      AND l.ts < toDateTime({end:Int64}, 'Asia/Shanghai')
      AND l.status < {max_status:UInt16}
      AND l.dataset_id IN (SELECT dataset_id FROM periods)
)
WHERE notEmpty(source)
GROUP BY consumer_id, ip, dataset_id, day
"""

# A report is overdue once its due date has passed without it being filed, or
# when it was filed after the due date. Looked at "as of" the window's end.
REPORT_OVERDUE = """
SELECT
    report_id, agreement_id, consumer_id, dataset_id, period_start, period_end, due_date, filed_at,
    calls_reported
FROM usage_reports FINAL
WHERE due_date >= {first_due:Date}
  AND due_date + {grace_days:UInt16} < toDate(toDateTime({end:Int64}, 'Asia/Shanghai'))
  AND (filed_at IS NULL
       OR filed_at >= toDateTime({end:Int64}, 'Asia/Shanghai')
       OR toDate(filed_at) > due_date + {grace_days:UInt16})
ORDER BY due_date, report_id
"""

# Evidence for the (entity, dataset, day) groups a rule flagged: the day's
# first and last call, which keys and IPs, and calls per hour. Asked only for
# the hits, through the primary key (dataset_id, consumer_id), because these
# aggregates cost more than the detection itself.
DAY_EVIDENCE = """
SELECT
    consumer_id,
    if(consumer_id = '', client_ip, '')         AS ip,
    toString(dataset_id)                        AS dataset_id,
    toDate(ts)                                  AS day,
    min(ts)                                     AS first_call,
    max(ts)                                     AS last_call,
    groupUniqArray(10)(key_id)                  AS keys,
    groupUniqArray(10)(client_ip)               AS ips,
    sumMap([toHour(ts)], [toUInt64(1)])         AS by_hour
FROM access_log
WHERE dataset_id IN {dataset_ids:Array(String)}
  AND consumer_id IN {consumer_ids:Array(String)}
  AND ts >= toDateTime({start:Int64}, 'Asia/Shanghai')
  AND ts < toDateTime({end:Int64}, 'Asia/Shanghai')
  AND status < {max_status:UInt16}
  AND (consumer_id, ip, toString(dataset_id), toDate(ts)) IN {hits:Array(Tuple(String, String, String, Date))}
GROUP BY consumer_id, ip, dataset_id, day
"""


# ---------------------------------------------------------------------------------------------------
# Helpers for the rules' tests and alerts

def grade(ratio: float, medium: float, high: float, critical: float) -> str:
    """Severity from how far a measure exceeds its limit."""
    if ratio >= critical:
        return "critical"
    if ratio >= high:
        return "high"
    if ratio >= medium:
        return "medium"
    return "low"


def hourly_series(by_hour: tuple[list[int], list[int]]) -> dict[str, int]:
    """{"09": 12, ...}: calls per Shanghai hour of the day, readable without SQL."""
    hours, counts = by_hour
    return {f"{h:02d}": int(c) for h, c in sorted(zip(hours, counts, strict=True))}


def counts_of(entries: list[dict[str, Any]]) -> dict[str, int]:
    """[{"name": ..., "calls": n}, ...] as {name: calls}, most calls first."""
    return dict(sorted(((str(e["name"]), int(e["calls"])) for e in entries), key=lambda kv: (-kv[1], kv[0])))


def networks_of(ips: list[str]) -> list[str]:
    """The /24 (IPv4) or /48 (IPv6) networks of some addresses, for the evidence."""
    found = set()
    for ip in ips:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            continue
        prefix = 24 if address.version == 4 else 48
        found.add(str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False)))
    return sorted(found)


def valid_terms(row: Mapping[str, Any]) -> list[int]:
    """Which of the row's agreements are valid on its day."""
    return [i for i, (f, t) in enumerate(zip(row["froms"], row["tos"], strict=True)) if f <= row["day"] <= t]


def day_alert(row: Mapping[str, Any], *, severity: str, score: float, message: str, params: dict[str, Any],
              evidence: dict[str, Any]) -> dict[str, Any]:
    """An alert on the row's (entity, dataset, day), as keyword arguments of `Alert`. Its window is
    the whole Shanghai day, whatever part of it the run covered; `calls` counts the offending calls."""
    start, end = day_window(row["day"])
    return {"severity": severity, "score": float(score), "message": message, "params": params,
            "window_start": start, "window_end": end, "evidence": {"calls": int(row["calls"]), **evidence},
            "consumer_id": row["consumer_id"], "client_ip": row.get("ip", ""),
            "dataset_id": row["dataset_id"]}


def _terms(row: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"agreement_id": a, "valid_from": str(f), "valid_to": str(t)}
            for a, f, t in zip(row["agreement_ids"], row["froms"], row["tos"], strict=True)]


# ---------------------------------------------------------------------------------------------------
# The rules: when a row breaks it, and the alert it becomes

def _no_agreement(row: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    return day_alert(
        row, severity=grade(row["calls"], 1, 20, 500), score=row["calls"],
        message="alerts.no_agreement", params={"calls": int(row["calls"])},
        evidence={"rows_returned": int(row["rows_returned"])})


def _outside_validity(row: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    day: date = row["day"]
    expired = [t for t in row["tos"] if t < day]
    if expired and not any(f > day for f in row["froms"]):
        relation, days_off = "after_expiry", (day - max(expired)).days
    else:
        relation, days_off = "before_start", (min(row["froms"]) - day).days
    return day_alert(
        row, severity=grade(days_off, 1, 7, 30), score=row["calls"],
        message=f"alerts.outside_validity.{relation}", params={"days": days_off, "calls": int(row["calls"])},
        evidence={"relation": relation, "days_outside": days_off, "agreements": _terms(row)})


def _fields_outside(row: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    outside = counts_of(row["outside_fields"])
    offending = max(outside.values())
    return day_alert(
        row, severity=grade(len(outside), 1, 2, 5), score=offending,
        message="alerts.fields_outside_agreement", params={"fields": list(outside)},
        evidence={"fields_outside_agreement": outside, "allowed_fields": sorted(row["allowed"]),
                  "calls_with_outside_fields": offending})


def _scenario_mismatch(row: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    used = counts_of(row["scenarios_used"])
    return day_alert(
        row, severity=grade(row["calls"], 1, 20, 500), score=row["calls"],
        message="alerts.scenario_mismatch" if any(used) else "alerts.scenario_mismatch.none",
        params={"scenarios": [s for s in used if s]},
        evidence={"scenarios_declared": used, "scenarios_agreed": sorted(row["allowed"])})


def _over_quota(row: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    valid = valid_terms(row)
    call_quotas = [row["call_quotas"][i] for i in valid]
    row_quotas = [row["row_quotas"][i] for i in valid]
    return bool(valid) and (0 not in call_quotas and row["calls"] > max(call_quotas)
                            or 0 not in row_quotas and row["rows_returned"] > max(row_quotas))


def _quota_exceeded(row: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    valid = valid_terms(row)
    call_quota = max(row["call_quotas"][i] for i in valid)
    row_quota = max(row["row_quotas"][i] for i in valid)
    ratios = {}
    if call_quota:
        ratios["calls"] = row["calls"] / call_quota
    if row_quota:
        ratios["rows"] = row["rows_returned"] / row_quota
    worst = max(ratios.values())
    over = [k for k, r in ratios.items() if r > 1]
    return day_alert(
        row, severity=grade(worst, 1.0, 1.5, 3.0), score=worst,
        message="alerts.quota_exceeded." + "_".join(over), params={"times": round(worst, 2)},
        evidence={"rows_returned": int(row["rows_returned"]), "daily_call_quota": int(call_quota),
                  "daily_row_quota": int(row_quota),
                  "times_quota": {k: round(r, 2) for k, r in ratios.items()}})


def _ip_outside_allowlist(row: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    outside = counts_of(row["outside_ips"])
    networks = networks_of(list(outside))
    return day_alert(
        row, severity=grade(len(networks), 1, 2, 5), score=row["calls"],
        message="alerts.ip_outside_allowlist", params={"ips": len(outside)},
        evidence={"ips_outside_allowlist": outside, "networks": networks,
                  "allowlist": sorted(row["allowlist"])})


def _suspended_dataset(row: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    return day_alert(
        row, severity=grade(row["calls"], 1, 10, 200), score=row["calls"],
        message="alerts.suspended_dataset", params={"calls": int(row["calls"])},
        evidence={"rows_returned": int(row["rows_returned"]), "suspensions": sorted(row["sources"])})


def _report_days_overdue(row: Mapping[str, Any]) -> tuple[int, Any]:
    """Days between the due date and the filing (or `as_of` when not filed by then), and the filing."""
    filed = shanghai(row["filed_at"]) if row["filed_at"] is not None else None
    if filed is not None and filed >= row["as_of"]:
        filed = None
    overdue_until = filed.date() if filed else shanghai(row["as_of"]).date()
    return (overdue_until - row["due_date"]).days, filed


def _report_overdue(row: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    days, filed = _report_days_overdue(row)
    start, end = day_window(row["due_date"])
    return {
        "severity": grade(days, 1, 30, 90), "score": float(days),
        "message": "alerts.report_overdue.late" if filed else "alerts.report_overdue.missing",
        "params": {"days": days, "period_start": str(row["period_start"]),
                   "period_end": str(row["period_end"])},
        "window_start": start, "window_end": end,
        "evidence": {"report_id": row["report_id"], "agreement_id": row["agreement_id"],
                     "period": f"{row['period_start']}..{row['period_end']}",
                     "due_date": str(row["due_date"]), "filed_at": filed.isoformat() if filed else None,
                     "days_overdue": days, "as_of": shanghai(row["as_of"]).isoformat()},
        "consumer_id": row["consumer_id"], "dataset_id": row["dataset_id"],
    }


# ---------------------------------------------------------------------------------------------------
# Query parameters

def _bindable(value: Any) -> Any:
    # The engine's parameter binding wants lists for arrays and 0/1 for flags.
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, bool):
        return int(value)
    return value


def day_parameters(window: Window, params: Mapping[str, Any]) -> dict[str, Any]:
    """A per-day rule reads every day the window touches from midnight, and by default only the calls
    that got data; its other parameters go to its query under their own names."""
    own = {name: _bindable(value) for name, value in params.items() if name != "include_refused"}
    return {"start": epoch(floor_to_day(window.start)), "end": epoch(window.end),
            "max_status": 600 if params["include_refused"] else 400, **own}


def report_parameters(window: Window, params: Mapping[str, Any]) -> dict[str, Any]:
    """Reports due from the window's start, as of its end."""
    return {"first_due": shanghai(window.start).date(), "end": epoch(window.end),
            "grace_days": params["grace_days"]}


# ---------------------------------------------------------------------------------------------------
# The table

@dataclass(frozen=True)
class AgreementRule:
    """One way of using data beyond the agreement."""

    name: str
    category: str
    article: str
    query: str                                  # one row per entity-dataset-day that may break the rule
    params: Mapping[str, Any]                   # the rule's own parameters and their defaults
    alert: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]   # row, params -> Alert kwargs
    fires: Callable[[Mapping[str, Any], Mapping[str, Any]], bool]           # row, params -> breaks the rule?
    parameters: Callable[[Window, Mapping[str, Any]], dict[str, Any]] = day_parameters
    # No look-back: a day is always recomputed whole (`day_parameters` reads from the midnight of the
    # window's start), so an incremental run already reaches back to midnight, and a slice of a full
    # run does not write the day before it again.
    lookback: timedelta = timedelta(0)
    # Which address evidence the day's calls add: None for a rule that is not about a day of calls.
    addresses: tuple[str, ...] | None = ("client_ips",)


def _has_calls(row: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    return row["calls"] > 0


RULES: dict[str, AgreementRule] = {rule.name: rule for rule in [
    AgreementRule(
        # Conditional data obtained by a consumer (or an anonymous IP) with no agreement for it at all.
        name="no_agreement", category="no_agreement", article="第二十条", query=NO_AGREEMENT,
        params={"open_classes": ("conditional",), "include_refused": False},
        fires=_has_calls, alert=_no_agreement, addresses=("client_ips", "networks")),
    AgreementRule(
        # Calls on a day no agreement of the consumer for that dataset is valid: too early or expired.
        name="outside_validity", category="outside_validity", article="第二十条", query=OUTSIDE_VALIDITY,
        params={"include_refused": False},
        fires=lambda row, params: not valid_terms(row), alert=_outside_validity),
    AgreementRule(
        # Requested fields that no agreement valid that day allows.
        name="fields_outside_agreement", category="fields_outside_agreement", article="第三十一条(五)",
        query=FIELDS_OUTSIDE, params={"include_refused": False},
        fires=lambda row, params: bool(row["outside_fields"]), alert=_fields_outside),
    AgreementRule(
        # Declared scenarios not among the agreement's scenarios.
        name="scenario_mismatch", category="scenario_mismatch", article="第三十一条(四)",
        query=SCENARIO_MISMATCH, params={"include_refused": False, "empty_scenario_is_mismatch": False},
        fires=lambda row, params: bool(row["scenarios_used"]), alert=_scenario_mismatch),
    AgreementRule(
        # A day with more calls or rows than the agreement's daily quota.
        name="quota_exceeded", category="quota_exceeded", article="第三十一条(五)", query=QUOTA_EXCEEDED,
        params={"include_refused": False}, fires=_over_quota, alert=_quota_exceeded),
    AgreementRule(
        # Calls from client IPs outside every allowlist of the agreements valid that day (CIDR aware).
        name="ip_outside_allowlist", category="ip_outside_allowlist", article="第三十一条(五)",
        query=IP_OUTSIDE_ALLOWLIST, params={"include_refused": False},
        fires=lambda row, params: bool(row["outside_ips"]), alert=_ip_outside_allowlist, addresses=()),
    AgreementRule(
        # Data obtained while its dataset was suspended (complaint) or suspended/withdrawn in the catalog.
        name="suspended_dataset", category="suspended_dataset", article="第二十六条", query=SUSPENDED_DATASET,
        params={"include_refused": False},
        fires=lambda row, params: row["calls"] > 0 and bool(row["sources"]), alert=_suspended_dataset),
    AgreementRule(
        # 第二十九条 usage reports not filed by their due date (or filed late). The alert window is the
        # due date itself, so the id stays the same on every later run; the evidence says how many days
        # overdue it is as of the run. Reports fall due on their own calendar, independent of log
        # traffic: an incremental run still reviews a year of due dates (a small table).
        name="report_overdue", category="report_overdue", article="第二十九条", query=REPORT_OVERDUE,
        params={"grace_days": 0},
        fires=lambda row, params: _report_days_overdue(row)[0] > params["grace_days"],
        alert=_report_overdue, parameters=report_parameters, lookback=timedelta(days=400), addresses=None),
]}


# ---------------------------------------------------------------------------------------------------
# The detector

class AgreementDetector(Detector):
    """One agreement rule as a detector: `AgreementDetector("quota_exceeded", include_refused=True)`.

    Its parameters are the rule's own, readable as attributes like any detector's.
    """

    family = "agreement"

    def __init__(self, rule: str, **params: Any) -> None:
        if rule not in RULES:
            raise UserError(f"There is no agreement rule '{rule}'. Known rules: {', '.join(RULES)}.")
        self.rule = RULES[rule]
        check_params(self.id, params, self.rule.params)
        self._params = MappingProxyType({**self.rule.params, **params})

    @property
    def id(self) -> str:
        return f"agreement.{self.rule.name}"

    @property
    def category(self) -> str:
        return self.rule.category

    @property
    def article(self) -> str:
        return self.rule.article

    @property
    def lookback(self) -> timedelta:
        return self.rule.lookback

    @property
    def sliced(self) -> bool:
        """A rule about a day of calls is run a slice of days at a time; one about reports once."""
        return self.rule.addresses is not None

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self._params.items())
        return f"AgreementDetector({self.rule.name!r}{params})"

    def get_params(self) -> dict[str, Any]:
        return dict(self._params)

    def with_params(self, **changes: Any) -> AgreementDetector:
        return AgreementDetector(self.rule.name, **{**self._params, **changes})

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """The rule's query: one row per entity, dataset and day (or report) that may break it."""
        result = client.query(self.rule.query, parameters=self.rule.parameters(window, self._params))
        rows = [dict(zip(result.column_names, values, strict=True)) for values in result.result_rows]
        if not rows:
            return pl.DataFrame()
        # sumMap's (names, counts) pairs become [{"name": ..., "calls": n}], which a frame can hold.
        rows = [{k: _named_counts(v) if isinstance(v, tuple) else v for k, v in row.items()} for row in rows]
        # Rows are judged as of the run's end (a report is overdue by then): the frame says when that
        # is, as score has no clock.
        return pl.DataFrame(rows, infer_schema_length=None).with_columns(as_of=pl.lit(shanghai(window.end)))

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """Every row that breaks the rule, graded by the rule."""
        if frame.is_empty():
            return []
        return [Alert(detector_id=self.id, category=self.category, article=self.article,
                      **self.rule.alert(row, self._params))
                for row in frame.iter_rows(named=True) if self.rule.fires(row, self._params)]

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The day's first and last call, its keys and addresses, and calls per hour."""
        if self.rule.addresses is None or not alerts:
            return super().explain(client, window, alerts)
        hits = [(a.consumer_id, a.client_ip, a.dataset_id, a.window_start.date()) for a in alerts]
        found = {(e["consumer_id"], e["ip"], e["dataset_id"], e["day"]): e
                 for e in client.query(DAY_EVIDENCE, parameters={
                     **day_parameters(window, {"include_refused": self._params["include_refused"]}),
                     "hits": hits, "dataset_ids": sorted({h[2] for h in hits}),
                     "consumer_ids": sorted({h[0] for h in hits})}).named_results()}
        for alert, hit in zip(alerts, hits, strict=True):
            day = found.get(hit)
            if day is None:
                continue
            addresses = {"client_ips": sorted(day["ips"]), "networks": networks_of(day["ips"])}
            alert.evidence.update({
                "first_call": shanghai(day["first_call"]).isoformat(),
                "last_call": shanghai(day["last_call"]).isoformat(),
                "key_ids": sorted(k for k in day["keys"] if k),
                "calls_by_hour": hourly_series(day["by_hour"]),
                **{name: addresses[name] for name in self.rule.addresses},
            })
        return super().explain(client, window, alerts)


def _named_counts(pair: tuple[list[Any], list[int]]) -> list[dict[str, Any]]:
    names, counts = pair
    return [{"name": str(n), "calls": int(c)} for n, c in zip(names, counts, strict=True)]


def agreement_detectors() -> list[AgreementDetector]:
    """One detector per rule, with the rule's default parameters."""
    return [AgreementDetector(name) for name in RULES]
