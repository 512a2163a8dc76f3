"""Use beyond the agreement (第二十条, 第二十六条, 第二十九条, 第三十一条(四)(五)).

Eight detectors that hold the access log against the reference data: the
agreements (validity, fields, scenarios, quotas, IP allowlists), the catalog's
open class, complaint suspensions and the usage-report calendar.

Each one reports per (entity, dataset, Shanghai day): the alert window is the
whole day even when the run covers part of it, so an incremental run that sees
more of the same day recomputes the same alert id and replaces it.

Only calls that got data (status < 400 by default) count as use: a call the
gateway refused is not use beyond the agreement (probing looks at those).

Where a consumer has several agreements for one dataset (renewals, amendments),
a call is lawful when any agreement valid on that day permits it. An empty
`allowed_fields`, `scenarios` or `ip_allowlist`, or a quota of 0, means the
agreement sets no limit there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from clickhouse_connect.driver.client import Client

from detectors.base import Alert, Detector, Window
from odwatch.clock import day_window, epoch, floor_to_day, shanghai

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

NO_AGREEMENT = f"""
WITH conditional AS (
    SELECT dataset_id FROM datasets FINAL WHERE has({{classes:Array(String)}}, toString(open_class))
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

# Per (consumer, dataset, day) first, then the agreements: the join sees
# thousands of rows instead of millions.
DAILY_USE_WITH_TERMS = f"""
WITH {TERMS}
SELECT
    u.consumer_id, u.dataset_id, u.day, u.calls, u.rows_returned,
    a.agreement_ids, a.froms, a.tos, a.call_quotas, a.row_quotas
FROM (
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
) AS u
INNER JOIN terms AS a ON a.consumer_id = u.consumer_id AND a.dataset_id = u.dataset_id
WHERE __CONDITION__
"""

VALID_ON_DAY = "arrayExists((f, t) -> u.day BETWEEN f AND t, a.froms, a.tos)"

OUTSIDE_VALIDITY = DAILY_USE_WITH_TERMS.replace("__CONDITION__", f"NOT {VALID_ON_DAY}")

# The quota of a day is the most generous one among the agreements valid that
# day; 0 means unlimited, so any valid 0 lifts the limit.
CALL_QUOTAS_OF_DAY = "arrayFilter((q, f, t) -> u.day BETWEEN f AND t, a.call_quotas, a.froms, a.tos)"
ROW_QUOTAS_OF_DAY = "arrayFilter((q, f, t) -> u.day BETWEEN f AND t, a.row_quotas, a.froms, a.tos)"
QUOTA_EXCEEDED = DAILY_USE_WITH_TERMS.replace("__CONDITION__", f"""
    {VALID_ON_DAY}
    AND (
        (NOT has({CALL_QUOTAS_OF_DAY}, 0) AND u.calls > arrayMax({CALL_QUOTAS_OF_DAY}))
        OR (NOT has({ROW_QUOTAS_OF_DAY}, 0) AND u.rows_returned > arrayMax({ROW_QUOTAS_OF_DAY}))
    )
""")

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
          AND (scenario != '' OR {{empty_is_mismatch:UInt8}})
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


# Evidence for the (entity, dataset, day) groups a detector flagged: the day's
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


def sum_map_dict(pair: tuple[list[Any], list[int]]) -> dict[str, int]:
    keys, counts = pair
    return dict(sorted(((str(k), int(c)) for k, c in zip(keys, counts, strict=True)),
                       key=lambda kv: (-kv[1], kv[0])))


def networks_of(ips: list[str]) -> list[str]:
    """The /24 (IPv4) or /48 (IPv6) networks of some addresses, for the evidence."""
    import ipaddress

    found = set()
    for ip in ips:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            continue
        prefix = 24 if address.version == 4 else 48
        found.add(str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False)))
    return sorted(found)


class DailyAgreementDetector(Detector):
    """Shared plumbing: day-aligned windows, query parameters, alert assembly."""

    family: ClassVar[str] = "agreement"
    # A day is always recomputed whole, so an incremental run reaches back to midnight.
    lookback: ClassVar[timedelta] = timedelta(days=1)

    def params(self, window: Window) -> dict[str, Any]:
        return {
            "start": epoch(floor_to_day(window.start)),
            "end": epoch(window.end),
            "max_status": 600 if getattr(self, "include_refused", False) else 400,
        }

    def rows(self, client: Client, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The detection query's rows, each with its day's key ids, client IPs and hourly series added."""
        result = client.query(sql, parameters=params)
        rows = [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
        if not rows:
            return rows
        hits = [(r["consumer_id"], r.get("ip", ""), r["dataset_id"], r["day"]) for r in rows]
        evidence = client.query(DAY_EVIDENCE, parameters={
            **params, "hits": hits, "dataset_ids": sorted({h[2] for h in hits}),
            "consumer_ids": sorted({h[0] for h in hits}),
        }).named_results()
        found = {(e["consumer_id"], e["ip"], e["dataset_id"], e["day"]): e for e in evidence}
        for row, hit in zip(rows, hits, strict=True):
            extra = found[hit]
            row.update({k: extra[k] for k in ("first_call", "last_call", "keys", "ips", "by_hour")})
        return rows

    def day_alert(self, row: dict[str, Any], *, severity: str, score: float, title: str,
                  evidence: dict[str, Any], consumer_id: str = "", client_ip: str = "") -> Alert:
        start, end = day_window(row["day"])
        # `calls` counts the offending calls; the rest describe the entity's whole day on the dataset.
        common = {
            "calls": int(row["calls"]),
            "first_call": shanghai(row["first_call"]).isoformat(),
            "last_call": shanghai(row["last_call"]).isoformat(),
            "key_ids": sorted(k for k in row["keys"] if k),
            "calls_by_hour": hourly_series(row["by_hour"]),
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=severity, score=float(score), title=title,
            window_start=start, window_end=end, evidence={**common, **evidence},
            consumer_id=consumer_id, client_ip=client_ip, dataset_id=row["dataset_id"],
        )


@dataclass
class NoAgreement(DailyAgreementDetector):
    """Conditional data obtained by a consumer (or an anonymous IP) with no agreement for it at all."""

    id: ClassVar[str] = "agreement.no_agreement"
    category: ClassVar[str] = "no_agreement"
    article: ClassVar[str] = "第二十条"
    open_classes: tuple[str, ...] = ("conditional",)
    include_refused: bool = False

    def run(self, client: Client, window: Window) -> list[Alert]:
        params = {**self.params(window), "classes": list(self.open_classes)}
        alerts = []
        for row in self.rows(client, NO_AGREEMENT, params):
            who = row["consumer_id"] or f"anonymous client {row['ip']}"
            alerts.append(self.day_alert(
                row,
                severity=grade(row["calls"], 1, 20, 500), score=row["calls"],
                title=f"{who} obtained conditional dataset {row['dataset_id']} "
                      f"without a usage agreement ({row['calls']} calls)",
                evidence={"rows_returned": int(row["rows_returned"]), "client_ips": sorted(row["ips"]),
                          "networks": networks_of(row["ips"])},
                consumer_id=row["consumer_id"], client_ip=row["ip"],
            ))
        return alerts


def _agreement_terms(row: dict[str, Any]) -> list[dict[str, str]]:
    return [{"agreement_id": a, "valid_from": str(f), "valid_to": str(t)}
            for a, f, t in zip(row["agreement_ids"], row["froms"], row["tos"], strict=True)]


@dataclass
class OutsideValidity(DailyAgreementDetector):
    """Calls on a day no agreement of the consumer for that dataset is valid: too early or expired."""

    id: ClassVar[str] = "agreement.outside_validity"
    category: ClassVar[str] = "outside_validity"
    article: ClassVar[str] = "第二十条"
    include_refused: bool = False

    def run(self, client: Client, window: Window) -> list[Alert]:
        alerts = []
        for row in self.rows(client, OUTSIDE_VALIDITY, self.params(window)):
            day: date = row["day"]
            expired = [t for t in row["tos"] if t < day]
            if expired and not any(f > day for f in row["froms"]):
                relation, days_off = "after the agreement expired", (day - max(expired)).days
            else:
                relation, days_off = "before the agreement took effect", (min(row["froms"]) - day).days
            alerts.append(self.day_alert(
                row,
                severity=grade(days_off, 1, 7, 30), score=row["calls"],
                title=f"{row['consumer_id']} used {row['dataset_id']} {relation} "
                      f"({days_off} day(s) off, {row['calls']} calls)",
                evidence={"relation": relation, "days_outside": days_off,
                          "agreements": _agreement_terms(row), "client_ips": sorted(row["ips"])},
                consumer_id=row["consumer_id"],
            ))
        return alerts


@dataclass
class FieldsOutsideAgreement(DailyAgreementDetector):
    """Requested fields that no agreement valid that day allows."""

    id: ClassVar[str] = "agreement.fields_outside_agreement"
    category: ClassVar[str] = "fields_outside_agreement"
    article: ClassVar[str] = "第三十一条(五)"
    include_refused: bool = False

    def run(self, client: Client, window: Window) -> list[Alert]:
        alerts = []
        for row in self.rows(client, FIELDS_OUTSIDE, self.params(window)):
            outside = sum_map_dict(row["outside_fields"])
            offending = max(outside.values())
            alerts.append(self.day_alert(
                row,
                severity=grade(len(outside), 1, 2, 5), score=offending,
                title=f"{row['consumer_id']} requested field(s) {', '.join(outside)} of "
                      f"{row['dataset_id']} outside the agreement",
                evidence={"fields_outside_agreement": outside, "allowed_fields": sorted(row["allowed"]),
                          "calls_with_outside_fields": offending, "client_ips": sorted(row["ips"])},
                consumer_id=row["consumer_id"],
            ))
        return alerts


@dataclass
class ScenarioMismatch(DailyAgreementDetector):
    """Declared scenarios not among the agreement's scenarios (第三十一条(四))."""

    id: ClassVar[str] = "agreement.scenario_mismatch"
    category: ClassVar[str] = "scenario_mismatch"
    article: ClassVar[str] = "第三十一条(四)"
    include_refused: bool = False
    empty_scenario_is_mismatch: bool = False

    def run(self, client: Client, window: Window) -> list[Alert]:
        params = {**self.params(window), "empty_is_mismatch": int(self.empty_scenario_is_mismatch)}
        alerts = []
        for row in self.rows(client, SCENARIO_MISMATCH, params):
            used = sum_map_dict(row["scenarios_used"])
            alerts.append(self.day_alert(
                row,
                severity=grade(row["calls"], 1, 20, 500), score=row["calls"],
                title=f"{row['consumer_id']} used {row['dataset_id']} for scenario(s) "
                      f"{', '.join(used) or '(none declared)'} not in the agreement",
                evidence={"scenarios_declared": used, "scenarios_agreed": sorted(row["allowed"]),
                          "client_ips": sorted(row["ips"])},
                consumer_id=row["consumer_id"],
            ))
        return alerts


@dataclass
class QuotaExceeded(DailyAgreementDetector):
    """A day with more calls or rows than the agreement's daily quota."""

    id: ClassVar[str] = "agreement.quota_exceeded"
    category: ClassVar[str] = "quota_exceeded"
    article: ClassVar[str] = "第三十一条(五)"
    include_refused: bool = False

    def run(self, client: Client, window: Window) -> list[Alert]:
        alerts = []
        for row in self.rows(client, QUOTA_EXCEEDED, self.params(window)):
            day = row["day"]
            spans = zip(row["froms"], row["tos"], strict=True)
            valid = [i for i, (f, t) in enumerate(spans) if f <= day <= t]
            call_quota = max(row["call_quotas"][i] for i in valid)
            row_quota = max(row["row_quotas"][i] for i in valid)
            ratios = {}
            if call_quota:
                ratios["calls"] = row["calls"] / call_quota
            if row_quota:
                ratios["rows"] = row["rows_returned"] / row_quota
            worst = max(ratios.values())
            over = [k for k, r in ratios.items() if r > 1]
            alerts.append(self.day_alert(
                row,
                severity=grade(worst, 1.0, 1.5, 3.0), score=worst,
                title=f"{row['consumer_id']} exceeded the daily {' and '.join(over)} quota on "
                      f"{row['dataset_id']} ({worst:.1f}x)",
                evidence={"rows_returned": int(row["rows_returned"]), "daily_call_quota": int(call_quota),
                          "daily_row_quota": int(row_quota),
                          "times_quota": {k: round(r, 2) for k, r in ratios.items()},
                          "client_ips": sorted(row["ips"])},
                consumer_id=row["consumer_id"],
            ))
        return alerts


@dataclass
class IpOutsideAllowlist(DailyAgreementDetector):
    """Calls from client IPs outside every allowlist of the agreements valid that day (CIDR aware)."""

    id: ClassVar[str] = "agreement.ip_outside_allowlist"
    category: ClassVar[str] = "ip_outside_allowlist"
    article: ClassVar[str] = "第三十一条(五)"
    include_refused: bool = False

    def run(self, client: Client, window: Window) -> list[Alert]:
        alerts = []
        for row in self.rows(client, IP_OUTSIDE_ALLOWLIST, self.params(window)):
            outside = sum_map_dict(row["outside_ips"])
            networks = networks_of(list(outside))
            alerts.append(self.day_alert(
                row,
                severity=grade(len(networks), 1, 2, 5), score=row["calls"],
                title=f"{row['consumer_id']} called {row['dataset_id']} from {len(outside)} IP(s) "
                      f"outside the agreement's allowlist",
                evidence={"ips_outside_allowlist": outside, "networks": networks,
                          "allowlist": sorted(row["allowlist"])},
                consumer_id=row["consumer_id"],
            ))
        return alerts


@dataclass
class SuspendedDataset(DailyAgreementDetector):
    """Data obtained while its dataset was suspended (complaint) or suspended/withdrawn in the catalog."""

    id: ClassVar[str] = "agreement.suspended_dataset"
    category: ClassVar[str] = "suspended_dataset"
    article: ClassVar[str] = "第二十六条"
    include_refused: bool = False

    def run(self, client: Client, window: Window) -> list[Alert]:
        alerts = []
        for row in self.rows(client, SUSPENDED_DATASET, self.params(window)):
            who = row["consumer_id"] or f"anonymous client {row['ip']}"
            alerts.append(self.day_alert(
                row,
                severity=grade(row["calls"], 1, 10, 200), score=row["calls"],
                title=f"{who} obtained {row['dataset_id']} while it was suspended ({row['calls']} calls)",
                evidence={"rows_returned": int(row["rows_returned"]), "suspensions": sorted(row["sources"]),
                          "client_ips": sorted(row["ips"])},
                consumer_id=row["consumer_id"], client_ip=row["ip"],
            ))
        return alerts


@dataclass
class ReportOverdue(Detector):
    """第二十九条 usage reports not filed by their due date (or filed late).

    The alert window is the due date itself, so the id stays the same on every
    later run; the evidence says how many days overdue it is as of the run.
    """

    id: ClassVar[str] = "agreement.report_overdue"
    category: ClassVar[str] = "report_overdue"
    article: ClassVar[str] = "第二十九条"
    family: ClassVar[str] = "agreement"
    # Reports fall due on their own calendar, independent of log traffic: an
    # incremental run still reviews a year of due dates (a small table).
    lookback: ClassVar[timedelta] = timedelta(days=400)
    grace_days: int = 0

    def run(self, client: Client, window: Window) -> list[Alert]:
        end = shanghai(window.end)
        params = {"first_due": shanghai(window.start).date(), "end": epoch(end),
                  "grace_days": self.grace_days}
        result = client.query(REPORT_OVERDUE, parameters=params)
        alerts = []
        for values in result.result_rows:
            row = dict(zip(result.column_names, values, strict=True))
            filed = shanghai(row["filed_at"]) if row["filed_at"] is not None else None
            if filed is not None and filed >= end:
                filed = None
            overdue_until = filed.date() if filed else end.date()
            days = (overdue_until - row["due_date"]).days
            start, stop = day_window(row["due_date"])
            state = f"filed {days} day(s) late" if filed else f"not filed, {days} day(s) overdue"
            alerts.append(Alert(
                detector_id=self.id, category=self.category, article=self.article,
                severity=grade(days, 1, 30, 90), score=float(days),
                title=f"{row['consumer_id']}'s usage report on {row['dataset_id']} for "
                      f"{row['period_start']}..{row['period_end']} {state}",
                window_start=start, window_end=stop,
                evidence={"report_id": row["report_id"], "agreement_id": row["agreement_id"],
                          "period": f"{row['period_start']}..{row['period_end']}",
                          "due_date": str(row["due_date"]), "filed_at": filed.isoformat() if filed else None,
                          "days_overdue": days, "as_of": end.isoformat()},
                consumer_id=row["consumer_id"], dataset_id=row["dataset_id"],
            ))
        return alerts


AGREEMENT_DETECTORS: list[type[Detector]] = [
    NoAgreement, OutsideValidity, FieldsOutsideAgreement, ScenarioMismatch, QuotaExceeded,
    IpOutsideAllowlist, SuspendedDataset, ReportOverdue,
]
