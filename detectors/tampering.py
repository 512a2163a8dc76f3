"""Tampering: calls whose parameters break what their endpoint has always been sent (第三十条).

Each endpoint (its path with the dataset id taken out) has a parameter profile
learned from its calls over the run and the `lookback` days before: the
parameter names its calls carry, the shape of each one's values (an integer, a
number, a date, a token, free text, an object), their usual length, and how many
senders use each. A call that sends a name the endpoint (almost) never has, or
that only one or two senders use; a value of a shape (almost) never seen for that
name (a text where there have only been integers); or a value far longer than the
usual ones breaks the profile: an attack that matches no signature is still
seen. Endpoints with too little traffic have no profile and are not judged.

Only the broken parameter texts come back from the engine: the profile and the
check are one query over the distinct parameter texts of each endpoint, not every
call; then who sent them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window, query_frame
from odwatch import clock

TEMPLATE = "if(dataset_id = '', endpoint, replaceAll(endpoint, dataset_id, '{dataset}'))"
SHAPE = """multiIf(
    match(value, '^-?[0-9]{1,18}$'), 'integer',
    match(value, '^-?[0-9]*\\\\.[0-9]+([eE][-+]?[0-9]+)?$'), 'number',
    value IN ('true', 'false', 'null'), 'flag',
    match(value, '^"[0-9]{4}-[0-9]{2}(-[0-9]{2})?([T ][0-9:.+-]*)?"$'), 'date',
    match(value, '^"-?[0-9]{1,18}"$'), 'integer',
    match(value, '^"[A-Za-z0-9_.:,/-]*"$'), 'token',
    startsWith(value, '"'), 'text',
    'object')"""

# The profile: every call answered below 400 in the look-back and the run, by endpoint and distinct
# parameter text (with a sketch of who sent it), then by parameter name and value shape. Judged: the
# run's distinct parameter texts of endpoints with a profile; a name or a shape is established when it
# carries `rare_share` of its endpoint's (name's) calls and comes from `min_users` senders. The profile
# includes the run itself: an attack stays rare in it, and a run over history needs no earlier data.
BROKEN_PARAMS = """
WITH
profile_params AS (
    SELECT {template} AS template, params, count() AS calls,
           uniqState(consumer_id, if(consumer_id = '', client_ip, '')) AS users
    FROM access_log
    WHERE ts >= {profile_start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
      AND status < 400 AND params NOT IN ('', '{}')
    GROUP BY template, params
),
profile_values AS (
    SELECT template, kv.1 AS name, kv.2 AS value, {shape} AS shape, lengthUTF8(value) AS len, calls, users
    FROM profile_params
    ARRAY JOIN JSONExtractKeysAndValuesRaw(params) AS kv
),
templates AS (
    SELECT template, sum(calls) AS template_calls FROM profile_params GROUP BY template
    HAVING template_calls >= {min_profile_calls:UInt64}
),
names AS (
    SELECT template, name, sum(calls) AS name_calls, uniqMerge(users) AS name_users,
           quantileExactWeighted(0.99)(len, calls) AS usual_len
    FROM profile_values GROUP BY template, name
),
shapes AS (
    SELECT template, name, shape, sum(calls) AS shape_calls, uniqMerge(users) AS shape_users
    FROM profile_values GROUP BY template, name, shape
),
judged AS (
    SELECT {template} AS template, params
    FROM access_log
    WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
      AND params NOT IN ('', '{}')
    GROUP BY template, params
),
exploded AS (
    SELECT template, params, kv.1 AS name, kv.2 AS value, {shape} AS shape, lengthUTF8(value) AS len
    FROM judged
    ARRAY JOIN JSONExtractKeysAndValuesRaw(params) AS kv
    WHERE template IN (SELECT template FROM templates)
)
SELECT e.template AS template, e.params AS params, e.name AS name, e.shape AS shape, e.len AS len,
       t.template_calls AS template_calls, n.name_calls AS name_calls, n.name_users AS name_users,
       n.usual_len AS usual_len, s.shape_calls AS shape_calls, s.shape_users AS shape_users,
       multiIf(n.name_calls < {rare_share:Float64} * t.template_calls OR n.name_users < {min_users:UInt64},
               'unknown_parameter',
               s.shape_calls < {rare_share:Float64} * n.name_calls OR s.shape_users < {min_users:UInt64},
               'shape',
               'length') AS broken_rule
FROM exploded AS e
INNER JOIN templates AS t ON t.template = e.template
LEFT JOIN names AS n ON n.template = e.template AND n.name = e.name
LEFT JOIN shapes AS s ON s.template = e.template AND s.name = e.name AND s.shape = e.shape
WHERE n.name_calls < {rare_share:Float64} * t.template_calls OR n.name_users < {min_users:UInt64}
   OR s.shape_calls < {rare_share:Float64} * n.name_calls OR s.shape_users < {min_users:UInt64}
   OR e.len > greatest({length_factor:Float64} * n.usual_len, toFloat64(n.usual_len + {length_slack:UInt64}))
""".replace("{template}", TEMPLATE).replace("{shape}", SHAPE)

# Who sent the broken parameter texts, per entity and day.
SENDERS = """
SELECT consumer_id, if(consumer_id = '', client_ip, '') AS anon_ip, toDate(ts) AS day,
       {template} AS template, params, count() AS calls, groupUniqArray(3)(client_ip) AS ips,
       min(ts) AS first_seen, max(ts) AS last_seen
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND (template, params) IN {broken:Array(Tuple(String, String))}
GROUP BY consumer_id, anon_ip, day, template, params
""".replace("{template}", TEMPLATE)

SERIES_KEY = "(consumer_id, if(consumer_id = '', client_ip, ''), toDate(ts))"
SERIES_TYPES = "String, String, Date"


@dataclass(frozen=True)
class TamperingDetector(Detector):
    """Calls breaking their endpoint's learned parameter profile (names, value shapes, lengths)."""

    id = "tampering"
    category = "tampering"
    article = features.ARTICLE
    family = "malicious"
    lookback: ClassVar[timedelta] = timedelta(days=7)

    min_profile_calls: int = 200    # an endpoint needs this many calls to have a profile
    rare_share: float = 0.001       # a parameter (or a value shape of one) this rare breaks the profile
    min_users: int = 3              # and so does one that fewer senders than this have used
    length_factor: float = 3.0      # a value this many times the usual (99th percentile) length
    length_slack: int = 24          # and this many characters longer
    min_calls: int = 2              # broken calls in a day that make an alert

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per broken (entity, day, endpoint, parameters, name): the calls, the rule broken
        (`unknown_parameter`, `shape`, `length`), the value's shape and length against the profile
        (`template_calls`, `name_calls`, `name_users`, `shape_calls`, `shape_users`, `usual_len`),
        addresses, first and last call."""
        start, end = features.read_range(window, self.lookback)
        broken = query_frame(client, BROKEN_PARAMS, {
            "profile_start": start - self.lookback, "start": start, "end": end,
            "min_profile_calls": self.min_profile_calls, "rare_share": self.rare_share,
            "min_users": self.min_users, "length_factor": self.length_factor,
            "length_slack": self.length_slack})
        if broken.is_empty():
            return broken
        senders = query_frame(client, SENDERS, {
            "start": start, "end": end,
            "broken": sorted(set(broken.select("template", "params").iter_rows()))})
        return senders.join(broken, on=["template", "params"], how="inner")

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """One alert per entity-day with at least `min_calls` broken calls."""
        if frame.is_empty():
            return []
        alerts = []
        for (consumer_id, anon_ip, day), rows in frame.group_by(
                ["consumer_id", "anon_ip", "day"], maintain_order=True):
            calls = rows.unique(["template", "params"])["calls"].sum()
            if calls >= self.min_calls:
                alerts.append(self._alert(consumer_id, anon_ip, day, rows, calls))
        return alerts

    def _alert(self, consumer_id: str, anon_ip: str, day, rows: pl.DataFrame, calls: int) -> Alert:
        broken = rows.sort("template", "name").unique(["template", "name", "broken_rule"],
                                                      maintain_order=True)
        rules = [{"endpoint": r["template"], "parameter": r["name"], "rule": r["broken_rule"],
                  "shape": r["shape"], "length": r["len"], "usual_length": r["usual_len"],
                  "profile_calls": r["name_calls"]} for r in broken.head(20).iter_rows(named=True)]
        top = rows.group_by("template").agg(pl.col("calls").sum()).sort("calls", descending=True)
        ips = sorted({ip for group in rows["ips"] for ip in group})
        window_start, window_end = clock.day_window(day)
        severity = "high" if calls >= 20 else "medium" if calls >= 5 else "low"
        evidence = {
            "calls": calls,
            "broken_rules": rules,
            "samples": sorted(set(rows["params"]))[:5],
            "client_ips": ips[:10],
            "first_seen": clock.iso(rows["first_seen"].min()),
            "last_seen": clock.iso(rows["last_seen"].max()),
            "profile_lookback_days": self.lookback.days,
            "thresholds": {"min_profile_calls": self.min_profile_calls, "rare_share": self.rare_share,
                           "min_users": self.min_users, "length_factor": self.length_factor,
                           "min_calls": self.min_calls},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article, severity=severity,
            score=float(calls), message="alerts.tampering",
            params={"calls": calls, "endpoint": top["template"][0],
                    "parameters": sorted({r["parameter"] for r in rules})[:3],
                    "rules": sorted({r["rule"] for r in rules})},
            window_start=window_start, window_end=window_end, evidence=evidence,
            consumer_id=consumer_id, client_ip=anon_ip or (ips[0] if len(ips) == 1 else ""),
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The entity's calls per minute over the day."""
        start, end = features.read_range(window, self.lookback)
        keys = [(a.consumer_id, "" if a.consumer_id else a.client_ip, a.window_start.date()) for a in alerts]
        series = features.minute_series(client, SERIES_KEY, SERIES_TYPES, keys, start, end)
        for alert, key in zip(alerts, keys, strict=True):
            alert.evidence["per_minute"] = series.get(key, [])
        return super().explain(client, window, alerts)
