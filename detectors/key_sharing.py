"""Key sharing: one key used from many networks at once (第三十条).

A key issued to one consumer is normally used from its own few addresses. When
within one hour the same key calls from several /24 networks that also sit in
different /16s, the credential is in many hands. Calls made without a key are
grouped by consumer instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window

# /24 and /16 of an IPv4 address as text; an IPv6 address counts as its own network.
SHARED_HOURS = """
WITH calls AS (
    SELECT
        consumer_id,
        key_id,
        if(key_id != '', key_id, consumer_id) AS credential,
        toStartOfHour(ts) AS hour,
        client_ip,
        dataset_id,
        isIPv4String(client_ip) AS v4,
        if(v4, IPv4NumToString(IPv4CIDRToRange(toIPv4OrZero(client_ip), 24).1), client_ip) AS net24,
        if(v4, IPv4NumToString(IPv4CIDRToRange(toIPv4OrZero(client_ip), 16).1), client_ip) AS net16
    FROM access_log
    WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
      AND consumer_id != ''
)
SELECT
    credential, any(consumer_id) AS consumer_id, any(key_id) AS key_id, hour,
    count() AS calls,
    uniqExact(net24) AS networks24,
    uniqExact(net16) AS networks16,
    uniqExact(client_ip) AS ips,
    topK(20)(net24) AS top_networks,
    groupUniqArray(50)(client_ip) AS some_ips,
    topK(3)(dataset_id) AS datasets
FROM calls
GROUP BY credential, hour
HAVING networks24 >= {min_networks:UInt32} AND networks16 >= {min_prefixes16:UInt32}
ORDER BY credential, hour
"""

NETWORK_CALLS = """
SELECT if(key_id != '', key_id, consumer_id) AS credential, toStartOfHour(ts) AS hour,
       IPv4NumToString(IPv4CIDRToRange(toIPv4OrZero(client_ip), 24).1) AS net24, count() AS calls
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND consumer_id != ''
  AND (if(key_id != '', key_id, consumer_id), toStartOfHour(ts))
      IN {hours:Array(Tuple(String, DateTime('Asia/Shanghai')))}
GROUP BY credential, hour, net24
ORDER BY calls DESC
"""

SERIES_KEY = "(if(key_id != '', key_id, consumer_id), toStartOfHour(ts))"
SERIES_TYPES = "String, DateTime('Asia/Shanghai')"


@dataclass
class KeySharingDetector(Detector):
    """Hours in which one key (or consumer) called from >= `min_networks` /24s in >= `min_prefixes16` /16s."""

    id = "key_sharing"
    category = "key_sharing"
    article = features.ARTICLE
    family = "malicious"

    min_networks: int = 5           # distinct /24 networks in one hour
    min_prefixes16: int = 3         # of which in distinct /16s: not one provider's neighbouring blocks

    def run(self, client: Client, window: Window) -> list[Alert]:
        start, end = features.read_range(window)
        hours = client.query(SHARED_HOURS, parameters={
            "start": start, "end": end, "min_networks": self.min_networks,
            "min_prefixes16": self.min_prefixes16}).named_results()
        by_day: dict[tuple, list[dict]] = defaultdict(list)
        for row in hours:
            by_day[(row["credential"], features.shanghai(row["hour"]).date())].append(row)
        if not by_day:
            return []
        keys = [(r["credential"], r["hour"]) for rows in by_day.values() for r in rows]
        per_network: dict[tuple, dict[str, int]] = defaultdict(dict)
        for credential, hour, net24, calls in client.query(NETWORK_CALLS, parameters={
                "start": start, "end": end, "hours": keys}).result_rows:
            per_network[(credential, hour)][f"{net24}/24"] = calls
        series = features.minute_series(client, SERIES_KEY, SERIES_TYPES, keys, start, end)
        alerts = [self._alert(day, rows, per_network, series) for (_, day), rows in by_day.items()]
        agencies = features.agencies_for(client, [a.dataset_id for a in alerts])
        for alert in alerts:
            alert.agency_id = agencies.get(alert.dataset_id, "")
        return alerts

    def _alert(self, day, rows: list[dict], per_network: dict, series: dict) -> Alert:
        worst = max(rows, key=lambda r: r["networks24"])
        strength = worst["networks24"] / self.min_networks
        datasets = {d for r in rows for d in r["datasets"]}
        window_start, window_end = features.day_window(day)
        who = f"key {worst['key_id']}" if worst["key_id"] else f"consumer {worst['consumer_id']}"
        evidence = {
            "shared_hours": [{
                "hour": features.shanghai(r["hour"]).strftime("%Y-%m-%d %H:00"),
                "calls": r["calls"], "networks_24": r["networks24"], "networks_16": r["networks16"],
                "distinct_ips": r["ips"],
                "calls_by_network": per_network.get((r["credential"], r["hour"]), {}),
            } for r in rows],
            "client_ips": sorted(worst["some_ips"]),
            "max_networks_24_in_one_hour": worst["networks24"],
            "max_networks_16_in_one_hour": worst["networks16"],
            "datasets": sorted(datasets),
            "per_minute": [p for r in rows for p in series.get((r["credential"], r["hour"]), [])],
            "thresholds": {"min_networks_24": self.min_networks, "min_networks_16": self.min_prefixes16},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=features.severity_for(strength), score=round(strength, 3),
            title=f"{who} of {worst['consumer_id']} used from {worst['networks24']} networks "
                  f"({worst['networks16']} /16s) within one hour",
            window_start=window_start, window_end=window_end, evidence=evidence,
            consumer_id=worst["consumer_id"], key_id=worst["key_id"],
            dataset_id=next(iter(datasets)) if len(datasets) == 1 else "",
        )
