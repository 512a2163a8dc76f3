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

from collections import defaultdict
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

# The profile, in one pass: every call answered below 400 in the look-back and the run, by endpoint and
# distinct parameter text (with up to `min_users` of its senders), then by parameter name and value shape:
# calls, senders and the 99th percentile of the values' length. An endpoint has a handful of names and
# shapes, so the profile is small; it includes the run itself (an attack stays rare in it, and a run over
# history needs no earlier data).
PROFILE = """
WITH profile_raw AS (
    SELECT endpoint, dataset_id, params, count() AS calls,
           groupUniqArray({min_users:UInt64})(
               toUInt32(cityHash64(consumer_id, if(consumer_id = '', client_ip, '')) % 4294967291)) AS senders
    FROM access_log
    WHERE ts >= {profile_start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
      AND status < 400 AND params NOT IN ('', '{}')
    GROUP BY endpoint, dataset_id, params
)
SELECT template, name, {shape} AS shape, sum(calls) AS shape_calls,
       groupUniqArrayArray({min_users:UInt64})(senders) AS shape_senders,
       quantileExactWeighted(0.99)(lengthUTF8(value), calls) AS usual_len
FROM (
    SELECT {template} AS template, kv.1 AS name, kv.2 AS value, calls, senders
    FROM profile_raw
    ARRAY JOIN JSONExtractKeysAndValuesRaw(params) AS kv
)
GROUP BY template, name, shape
""".replace("{template}", TEMPLATE).replace("{shape}", SHAPE)

# The run's distinct parameter texts of the profiled endpoints, each name and value checked against the
# established names and shapes and their usual lengths (from the profile, as parameters).
BROKEN_PARAMS = """
SELECT template, params, kv.1 AS name, kv.2 AS value, {shape} AS shape, lengthUTF8(value) AS len,
       transform(concat(template, ' ', name), {length_keys:Array(String)}, {usual_lengths:Array(Float64)},
                 0.0) AS usual_len,
       multiIf((template, name) NOT IN {names:Array(Tuple(String, String))}, 'unknown_parameter',
               (template, name, shape) NOT IN {shapes:Array(Tuple(String, String, String))}, 'shape',
               'length') AS broken_rule
FROM (
    SELECT DISTINCT {template} AS template, params
    FROM (
        SELECT endpoint, dataset_id, params
        FROM access_log
        WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
          AND params NOT IN ('', '{}')
        GROUP BY endpoint, dataset_id, params
    )
    WHERE template IN {templates:Array(String)}
)
ARRAY JOIN JSONExtractKeysAndValuesRaw(params) AS kv
WHERE broken_rule != 'length'
   OR len > greatest({length_factor:Float64} * usual_len, usual_len + {length_slack:UInt64})
SETTINGS query_plan_filter_push_down = 0
""".replace("{template}", TEMPLATE).replace("{shape}", SHAPE)

# Who sent the broken parameter texts, per entity and day.
SENDERS = """
SELECT consumer_id, if(consumer_id = '', client_ip, '') AS anon_ip, toDate(ts) AS day,
       {template} AS template, params, count() AS calls, groupUniqArray(3)(client_ip) AS ips,
       min(ts) AS first_seen, max(ts) AS last_seen
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND params IN {params:Array(String)}
  AND (template, params) IN {broken:Array(Tuple(String, String))}
GROUP BY consumer_id, anon_ip, day, template, params
""".replace("{template}", TEMPLATE)



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
        (`unknown_parameter`, `shape`, `length`), the value's shape and length against the name's usual
        length (`usual_len`), addresses, first and last call."""
        start, end = features.read_range(window, self.lookback)
        profile = query_frame(client, PROFILE, {
            "profile_start": start - self.lookback, "end": end, "min_users": self.min_users})
        if profile.is_empty():
            return profile
        established = self.established(profile)
        if not established["templates"]:
            return pl.DataFrame()
        broken = query_frame(client, BROKEN_PARAMS, {
            "start": start, "end": end, **established,
            "length_factor": self.length_factor, "length_slack": self.length_slack})
        if broken.is_empty():
            return broken
        pairs = sorted(set(broken.select("template", "params").iter_rows()))
        senders = query_frame(client, SENDERS, {
            "start": start, "end": end, "broken": pairs, "params": sorted({p for _, p in pairs})})
        return senders.join(broken, on=["template", "params"], how="inner")

    def established(self, profile: pl.DataFrame) -> dict[str, list]:
        """From the profile (per endpoint, name and shape: calls, senders, usual length), what the
        endpoints with enough calls are normally sent: their names and shapes carrying `rare_share` of
        the calls (of the endpoint; of the name) from at least `min_users` senders, and each name's
        usual length (that of its established shapes). An endpoint's calls are those of its most
        common parameter."""
        rows = profile.with_columns(users=pl.col("shape_senders").list.len()).to_dicts()
        names: dict[tuple[str, str], dict] = {}
        for row in rows:
            name = names.setdefault((row["template"], row["name"]), {"calls": 0, "senders": set()})
            name["calls"] += row["shape_calls"]
            name["senders"].update(row["shape_senders"])
        endpoint_calls: dict[str, int] = defaultdict(int)
        for (template, _), name in names.items():
            endpoint_calls[template] = max(endpoint_calls[template], name["calls"])
        templates = sorted(t for t, calls in endpoint_calls.items() if calls >= self.min_profile_calls)
        known = {key for key, name in names.items() if key[0] in templates
                 and name["calls"] >= self.rare_share * endpoint_calls[key[0]]
                 and len(name["senders"]) >= self.min_users}
        shapes, lengths = [], defaultdict(float)
        for row in rows:
            key = (row["template"], row["name"])
            if key in known and row["shape_calls"] >= self.rare_share * names[key]["calls"] \
                    and row["users"] >= self.min_users:
                shapes.append((*key, row["shape"]))
                lengths[f"{key[0]} {key[1]}"] = max(lengths[f"{key[0]} {key[1]}"], float(row["usual_len"]))
        return {"templates": templates, "names": sorted(known), "shapes": sorted(shapes),
                "length_keys": list(lengths), "usual_lengths": list(lengths.values())}

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
                  "shape": r["shape"], "length": r["len"], "usual_length": r["usual_len"]}
                 for r in broken.head(20).iter_rows(named=True)]
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
        features.add_entity_day_minutes(client, alerts, start, end)
        return super().explain(client, window, alerts)
