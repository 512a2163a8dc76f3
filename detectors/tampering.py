"""Tampering: calls whose parameters break what their endpoint has always been sent (第三十条).

Each endpoint (its path with the dataset id taken out) has a parameter profile
learned from the `lookback` days before the run: the parameter names its calls
carry, the shape of each one's values (an integer, a number, a date, a token, free
text, an object) and their usual length. A call that sends a name the endpoint
has never had, a value of a shape (almost) never seen for that name (a text where
there have only been integers), or a value far longer than the usual ones breaks
the profile: an attack that matches no signature is still seen. Endpoints with
too little history have no profile and are not judged.

Only the broken calls come back from the engine: the profile and the check are
one query, over the distinct parameter texts of each endpoint, not every call.
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

BROKEN_CALLS = """
WITH
profile_params AS (
    SELECT {template} AS template, params, count() AS calls
    FROM access_log
    WHERE ts >= {profile_start:DateTime64(3, 'Asia/Shanghai')} AND ts < {start:DateTime64(3, 'Asia/Shanghai')}
      AND status < 400 AND params NOT IN ('', '{}')
    GROUP BY template, params
),
profile_values AS (
    SELECT template, kv.1 AS name, kv.2 AS value, {shape} AS shape, lengthUTF8(value) AS len, calls
    FROM profile_params
    ARRAY JOIN JSONExtractKeysAndValuesRaw(params) AS kv
),
templates AS (
    SELECT template, sum(calls) AS template_calls FROM profile_params GROUP BY template
    HAVING template_calls >= {min_profile_calls:UInt64}
),
names AS (
    SELECT template, name, sum(calls) AS name_calls, quantileExactWeighted(0.99)(len, calls) AS usual_len
    FROM profile_values GROUP BY template, name
),
shapes AS (
    SELECT template, name, shape, sum(calls) AS shape_calls FROM profile_values GROUP BY template, name, shape
),
current AS (
    SELECT consumer_id, if(consumer_id = '', client_ip, '') AS anon_ip, toDate(ts) AS day,
           {template} AS template, params, count() AS calls, groupUniqArray(3)(client_ip) AS ips,
           min(ts) AS first_seen, max(ts) AS last_seen
    FROM access_log
    WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
      AND params NOT IN ('', '{}')
      AND {template} IN (SELECT template FROM templates)
    GROUP BY consumer_id, anon_ip, day, template, params
),
checked AS (
    SELECT c.consumer_id AS consumer_id, c.anon_ip AS anon_ip, c.day AS day, c.template AS template,
           c.params AS params, c.calls AS calls, c.ips AS ips, c.first_seen AS first_seen,
           c.last_seen AS last_seen, kv.1 AS name, kv.2 AS value, {shape} AS shape,
           lengthUTF8(value) AS len
    FROM current AS c
    ARRAY JOIN JSONExtractKeysAndValuesRaw(c.params) AS kv
)
SELECT k.consumer_id AS consumer_id, k.anon_ip AS anon_ip, k.day AS day, k.template AS template,
       k.params AS params, k.calls AS calls, k.ips AS ips, k.first_seen AS first_seen,
       k.last_seen AS last_seen,
       k.name AS name, k.shape AS shape, k.len AS len, n.name_calls AS name_calls, n.usual_len AS usual_len,
       s.shape_calls AS shape_calls,
       multiIf(n.name_calls = 0, 'unknown_parameter',
               s.shape_calls < {rare_share:Float64} * n.name_calls, 'shape',
               'length') AS broken_rule
FROM checked AS k
LEFT JOIN names AS n ON n.template = k.template AND n.name = k.name
LEFT JOIN shapes AS s ON s.template = k.template AND s.name = k.name AND s.shape = k.shape
WHERE n.name_calls = 0
   OR s.shape_calls < {rare_share:Float64} * n.name_calls
   OR k.len > greatest({length_factor:Float64} * n.usual_len, toFloat64(n.usual_len + {length_slack:UInt64}))
SETTINGS join_use_nulls = 0
""".replace("{template}", TEMPLATE).replace("{shape}", SHAPE)

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

    min_profile_calls: int = 200    # an endpoint needs this many calls in the look-back to have a profile
    rare_share: float = 0.001       # a value shape this rare for the parameter breaks the profile
    length_factor: float = 3.0      # a value this many times the usual (99th percentile) length
    length_slack: int = 24          # and this many characters longer
    min_calls: int = 2              # broken calls in a day that make an alert

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per broken (entity, day, endpoint, parameters, name): the calls, the rule broken
        (`unknown_parameter`, `shape`, `length`), the value's shape and length against the profile
        (`name_calls`, `shape_calls`, `usual_len`), addresses, first and last call."""
        start, end = features.read_range(window, self.lookback)
        return query_frame(client, BROKEN_CALLS, {
            "profile_start": start - self.lookback, "start": start, "end": end,
            "min_profile_calls": self.min_profile_calls, "rare_share": self.rare_share,
            "length_factor": self.length_factor, "length_slack": self.length_slack})

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
                           "length_factor": self.length_factor, "min_calls": self.min_calls},
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
