"""Probing: an entity feeling its way around what it may not see (第三十条).

Mostly refused calls (401/403/404), refusals on many datasets, and parameters
that look like injection attempts. The entity is the consumer, or for anonymous
traffic the client IP; one alert per entity and day.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window, query_frame
from odwatch import clock

# SQL injection, path traversal, script and template injection as they show up in query parameters.
INJECTION_PATTERN = (
    r"(?i)('|%27)\s*(or|and)\s+'?\w+'?\s*=\s*'?\w+|union(\s|%20|\+)+(all(\s|%20|\+)+)?select"
    r"|(\.\.|%2e%2e)(/|\\\\|%2f)|etc\\?/passwd|<\s*script|%3cscript|;\s*(drop|delete|insert|update)\s"
    r"|\bsleep\s*\(\s*\d|benchmark\s*\(|\$\{jndi:|\{\{.*\}\}"
)

# First only the refused or injection-looking calls (a small share of any day's traffic) are grouped per
# entity and day, keyed by a hash, to find who could be a prober (no one else can pass the rule); then the
# full picture, with the share of all their calls, for those entity-days only. A path in the endpoint is
# only examined when the call was refused or failed: a traversal that worked is the params' business, and
# that keeps the scan cheap.
SUSPECTS = """
WITH
    match(params, {pattern:String}) OR status >= 400 AND match(endpoint, {pattern:String}) AS injected
SELECT any(consumer_id) AS consumer, any(if(consumer_id = '', client_ip, '')) AS anon, any(toDate(ts)) AS day
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND (status >= 400 AND status < 500 OR injected)
GROUP BY cityHash64(consumer_id, if(consumer_id = '', client_ip, ''), toDate(ts))
HAVING countIf(status >= 400 AND status < 500) >= {min_error_share:Float64} * {min_calls:UInt64}
    OR countIf(injected) > 0
"""

PROBES = """
WITH
    match(params, {pattern:String}) OR status >= 400 AND match(endpoint, {pattern:String}) AS injected
SELECT
    consumer_id,
    if(consumer_id = '', client_ip, '') AS anon_ip,
    toDate(ts) AS day,
    count() AS calls,
    countIf(status >= 400 AND status < 500) AS client_errors,
    countIf(status = 401) AS s401,
    countIf(status = 403) AS s403,
    countIf(status = 404) AS s404,
    uniqExact(dataset_id) AS datasets,
    uniqExactIf(dataset_id, status IN (401, 403)) AS denied_datasets,
    groupUniqArrayIf(20)(dataset_id, status IN (401, 403)) AS some_denied,
    countIf(injected) AS injections,
    groupArrayIf(5)(substring(if(match(params, {pattern:String}), params, endpoint), 1, 200), injected)
        AS injection_samples,
    uniqExact(client_ip) AS ips,
    groupUniqArray(5)(client_ip) AS some_ips,
    min(ts) AS first_seen,
    max(ts) AS last_seen
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND (consumer_id, if(consumer_id = '', client_ip, ''), toDate(ts))
      IN {suspects:Array(Tuple(String, String, Date))}
GROUP BY consumer_id, anon_ip, day
"""

SERIES_KEY = "(consumer_id, if(consumer_id = '', client_ip, ''), toDate(ts))"
SERIES_TYPES = "String, String, Date"


@dataclass(frozen=True)
class ProbingDetector(Detector):
    """Mostly-refused traffic over many datasets, or injection-looking parameters, in one day."""

    id = "probing"
    category = "probing"
    article = features.ARTICLE
    family = "malicious"

    min_calls: int = 20
    min_error_share: float = 0.5        # 4xx share of the entity's calls that day
    min_denied_datasets: int = 3        # datasets answered 401/403
    min_injections: int = 3             # injection-looking calls alone suffice from this many

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per suspect entity-day: calls, 4xx counts by status, datasets touched and refused,
        injection-looking calls with samples, addresses, first and last call."""
        start, end = features.read_range(window)
        common = {"start": start, "end": end, "pattern": INJECTION_PATTERN,
                  "min_calls": self.min_calls, "min_error_share": self.min_error_share}
        suspects = [tuple(r) for r in client.query(SUSPECTS, parameters=common).result_rows]
        if not suspects:
            return pl.DataFrame()
        return query_frame(client, PROBES, {**common, "suspects": suspects})

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """Mostly refused over enough datasets (or with injections), or enough injections alone."""
        if frame.is_empty():
            return []
        return [self._alert(row) for row in frame.iter_rows(named=True) if self._probes(row)]

    def _probes(self, row: dict) -> bool:
        refused = (row["calls"] >= self.min_calls
                   and row["client_errors"] >= self.min_error_share * row["calls"]
                   and (row["denied_datasets"] >= self.min_denied_datasets or row["injections"] > 0))
        return refused or row["injections"] >= self.min_injections

    def _alert(self, row: dict) -> Alert:
        share = row["client_errors"] / row["calls"]
        strength = max(share / self.min_error_share * row["denied_datasets"] / self.min_denied_datasets,
                       row["injections"] / self.min_injections)
        window_start, window_end = clock.day_window(row["day"])
        who = row["consumer_id"] or f"anonymous {row['anon_ip']}"
        evidence = {
            "calls": row["calls"],
            "client_errors": row["client_errors"],
            "error_share": round(share, 3),
            "status_401": row["s401"], "status_403": row["s403"], "status_404": row["s404"],
            "datasets_touched": row["datasets"],
            "datasets_refused": row["denied_datasets"],
            "refused_dataset_ids": sorted(row["some_denied"]),
            "injection_like_calls": row["injections"],
            "injection_samples": row["injection_samples"],
            "client_ips": row["some_ips"],
            "distinct_ips": row["ips"],
            "first_seen": clock.iso(row["first_seen"]),
            "last_seen": clock.iso(row["last_seen"]),
            "thresholds": {"min_calls": self.min_calls, "min_error_share": self.min_error_share,
                           "min_denied_datasets": self.min_denied_datasets,
                           "min_injections": self.min_injections},
        }
        parts = [f"{share:.0%} refused over {row['denied_datasets']} datasets"]
        if row["injections"]:
            parts.append(f"{row['injections']} injection-like calls")
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=features.severity_for(strength), score=round(strength, 3),
            title=f"{who} probing: " + ", ".join(parts),
            window_start=window_start, window_end=window_end, evidence=evidence,
            consumer_id=row["consumer_id"],
            client_ip=row["anon_ip"] or (row["some_ips"][0] if row["ips"] == 1 else ""),
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The entity's calls per minute over the day."""
        start, end = features.read_range(window)
        # An anonymous entity is its address; a consumer's alert may name its one address too.
        keys = [(a.consumer_id, "" if a.consumer_id else a.client_ip, a.window_start.date()) for a in alerts]
        series = features.minute_series(client, SERIES_KEY, SERIES_TYPES, keys, start, end)
        for alert, key in zip(alerts, keys, strict=True):
            alert.evidence["per_minute"] = series.get(key, [])
        return super().explain(client, window, alerts)
