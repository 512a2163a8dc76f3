"""Probing: an entity feeling its way around what it may not see (第三十条).

Mostly refused calls (401/403/404) spread over many datasets the entity has no
right to. The entity is the consumer, or for anonymous traffic the client IP;
one alert per entity and day. Injection-looking parameters are the injection
detector's business (maintained signatures, detectors/signatures.py), requests
for sensitive paths the scanning detector's, and a client that repeats one
refused call (a broken integration asking for a withdrawn id) passes neither
test: it explores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window, query_frame
from odwatch import clock

# First only the refused calls (a small share of any day's traffic) are grouped per entity and day, keyed
# by a hash, to find who could be a prober (no one else can pass the rule); then the full picture, with
# the share of all their calls, for those entity-days only.
SUSPECTS = """
SELECT any(consumer_id) AS consumer, any(if(consumer_id = '', client_ip, '')) AS anon, any(toDate(ts)) AS day
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND status >= 400 AND status < 500
GROUP BY cityHash64(consumer_id, if(consumer_id = '', client_ip, ''), toDate(ts))
HAVING count() >= {min_error_share:Float64} * {min_calls:UInt64}
   AND uniqExactIf(dataset_id, status IN (401, 403)) >= {min_denied_datasets:UInt64}
"""

PROBES = """
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



@dataclass(frozen=True)
class ProbingDetector(Detector):
    """Mostly-refused traffic over many datasets the entity may not see, in one day."""

    id = "probing"
    category = "probing"
    article = features.ARTICLE
    family = "malicious"

    min_calls: int = 20
    min_error_share: float = 0.5        # 4xx share of the entity's calls that day
    min_denied_datasets: int = 3        # datasets answered 401/403

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per suspect entity-day: calls, 4xx counts by status, datasets touched and refused,
        addresses, first and last call."""
        start, end = features.read_range(window)
        common = {"start": start, "end": end, "min_calls": self.min_calls,
                  "min_error_share": self.min_error_share, "min_denied_datasets": self.min_denied_datasets}
        suspects = [tuple(r) for r in client.query(SUSPECTS, parameters=common).result_rows]
        if not suspects:
            return pl.DataFrame()
        return query_frame(client, PROBES, {**common, "suspects": suspects})

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """Mostly refused, over enough datasets without rights."""
        if frame.is_empty():
            return []
        return [self._alert(row) for row in frame.iter_rows(named=True) if self._probes(row)]

    def _probes(self, row: dict) -> bool:
        return (row["calls"] >= self.min_calls
                and row["client_errors"] >= self.min_error_share * row["calls"]
                and row["denied_datasets"] >= self.min_denied_datasets)

    def _alert(self, row: dict) -> Alert:
        share = row["client_errors"] / row["calls"]
        strength = share / self.min_error_share * row["denied_datasets"] / self.min_denied_datasets
        window_start, window_end = clock.day_window(row["day"])
        evidence = {
            "calls": row["calls"],
            "client_errors": row["client_errors"],
            "error_share": round(share, 3),
            "status_401": row["s401"], "status_403": row["s403"], "status_404": row["s404"],
            "datasets_touched": row["datasets"],
            "datasets_refused": row["denied_datasets"],
            "refused_dataset_ids": sorted(row["some_denied"]),
            "client_ips": row["some_ips"],
            "distinct_ips": row["ips"],
            "first_seen": clock.iso(row["first_seen"]),
            "last_seen": clock.iso(row["last_seen"]),
            "thresholds": {"min_calls": self.min_calls, "min_error_share": self.min_error_share,
                           "min_denied_datasets": self.min_denied_datasets},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=features.severity_for(strength), score=round(strength, 3),
            message="alerts.probing", params={"share": round(share, 3), "datasets": row["denied_datasets"]},
            window_start=window_start, window_end=window_end, evidence=evidence,
            consumer_id=row["consumer_id"],
            client_ip=row["anon_ip"] or (row["some_ips"][0] if row["ips"] == 1 else ""),
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The entity's calls per minute over the day."""
        start, end = features.read_range(window)
        features.add_entity_day_minutes(client, alerts, start, end)
        return super().explain(client, window, alerts)
