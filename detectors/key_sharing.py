"""Key sharing: one key used from many networks at once (第三十条).

A key issued to one consumer is normally used from its own few addresses. When
within about an hour the same key calls from several /24 networks that also sit
in different /16s, the credential is in many hands. Calls made without a key
are grouped by consumer instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window, query_frame
from odwatch import clock

# Calls fall into 10-minute slots per credential and network (/24 and /16 of an IPv4 address; an IPv6
# address counts as its own network). Each slot is counted in the `window_slots` sliding windows that
# contain it, so "within one hour" does not depend on where the clock hour starts. Only credentials
# seen from enough networks in the whole day (a cheap approximate count first) are worth the sliding count.
SHARED_WINDOWS = """
WITH busy AS (
    SELECT if(key_id != '', key_id, consumer_id) AS credential, toDate(ts) AS day
    FROM access_log
    WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
      AND consumer_id != ''
    GROUP BY credential, day
    HAVING uniq(if(isIPv4String(client_ip), toUInt64(bitShiftRight(toUInt32(toIPv4OrZero(client_ip)), 8)),
                   cityHash64(client_ip))) >= {min_networks:UInt32}
),
slots AS (
    SELECT
        if(key_id != '', key_id, consumer_id) AS credential,
        any(consumer_id) AS consumer,
        any(key_id) AS key,
        intDiv(toUnixTimestamp(ts), 600) AS slot,
        isIPv4String(client_ip) AS v4,
        if(v4, IPv4NumToString(IPv4CIDRToRange(toIPv4OrZero(client_ip), 24).1), client_ip) AS net24,
        if(v4, IPv4NumToString(IPv4CIDRToRange(toIPv4OrZero(client_ip), 16).1), client_ip) AS net16,
        count() AS slot_calls,
        min(ts) AS first_ts,
        max(ts) AS last_ts,
        groupUniqArray(client_ip) AS ips,
        groupUniqArray(dataset_id) AS datasets
    FROM access_log
    WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
      AND consumer_id != ''
      AND (if(key_id != '', key_id, consumer_id), toDate(ts)) IN busy
    GROUP BY credential, slot, v4, net24, net16
)
SELECT
    credential,
    any(consumer) AS consumer_id,
    any(key) AS key_id,
    toDateTime(window_slot * 600, 'Asia/Shanghai') AS window_start,
    sum(slot_calls) AS calls,
    min(first_ts) AS first_call,
    max(last_ts) AS last_call,
    uniqExact(net24) AS networks24,
    uniqExact(net16) AS networks16,
    arraySort(groupUniqArrayArray(ips)) AS window_ips,
    arraySort(groupUniqArrayArray(datasets)) AS window_datasets,
    CAST(groupArray((net24, slot_calls)), 'Array(Tuple(network String, calls UInt64))') AS network_calls
FROM slots
ARRAY JOIN range(toInt64(slot) - {window_slots:Int64} + 1, toInt64(slot) + 1) AS window_slot
GROUP BY credential, window_slot
HAVING networks24 >= {min_networks:UInt32} AND networks16 >= {min_prefixes16:UInt32}
ORDER BY credential, window_slot
"""

SERIES_KEY = "(if(key_id != '', key_id, consumer_id), toDate(ts))"
SERIES_TYPES = "String, Date"


@dataclass(frozen=True)
class KeySharingDetector(Detector):
    """A key (or consumer) calling from >= `min_networks` /24s in >= `min_prefixes16` /16s within an hour."""

    id = "key_sharing"
    category = "key_sharing"
    article = features.ARTICLE
    family = "malicious"

    min_networks: int = 5           # distinct /24 networks within one window
    min_prefixes16: int = 3         # of which in distinct /16s: not one provider's neighbouring blocks
    window_slots: int = 7           # window length in 10-minute slots: any hour fits in seven

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per credential and sliding window reaching the network thresholds: its calls,
        /24 and /16 counts, addresses, datasets and calls per /24 (`network_calls`)."""
        start, end = features.read_range(window)
        return query_frame(client, SHARED_WINDOWS, {
            "start": start, "end": end, "min_networks": self.min_networks,
            "min_prefixes16": self.min_prefixes16, "window_slots": self.window_slots})

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """One alert per credential and day, on its window with the most networks."""
        if frame.is_empty():
            return []
        shared = frame.filter((pl.col("networks24") >= self.min_networks)
                              & (pl.col("networks16") >= self.min_prefixes16))
        by_day: dict[tuple[str, date], list[dict]] = defaultdict(list)
        for row in shared.sort("credential", "window_start").iter_rows(named=True):
            by_day[(row["credential"], clock.shanghai(row["window_start"]).date())].append(row)
        return [self._alert(day, rows) for (_, day), rows in by_day.items()]

    def _alert(self, day: date, rows: list[dict]) -> Alert:
        worst = max(rows, key=lambda r: (r["networks24"], r["calls"]))
        by_network: dict[str, int] = defaultdict(int)
        for share in worst["network_calls"]:
            by_network[f"{share['network']}/24"] += share["calls"]
        strength = worst["networks24"] / self.min_networks
        datasets = sorted({d for r in rows for d in r["window_datasets"]})
        window_start, window_end = clock.day_window(day)
        opened = clock.shanghai(worst["first_call"])
        evidence = {
            "first_call": clock.iso(worst["first_call"]),
            "last_call": clock.iso(worst["last_call"]),
            "window_minutes": self.window_slots * 10,
            "calls_in_window": worst["calls"],
            "networks_24": worst["networks24"],
            "networks_16": worst["networks16"],
            "calls_by_network": dict(sorted(by_network.items(), key=lambda kv: -kv[1])),
            "client_ips": worst["window_ips"],
            "windows_over_threshold": len(rows),
            "datasets": datasets,
            "thresholds": {"min_networks_24": self.min_networks, "min_networks_16": self.min_prefixes16},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=features.severity_for(strength), score=round(strength, 3),
            message="alerts.key_sharing" if worst["key_id"] else "alerts.key_sharing.consumer",
            params={"key": worst["key_id"], "networks": worst["networks24"],
                    "prefixes16": worst["networks16"],
                    "opened": f"{opened:%H:%M}"},
            window_start=window_start, window_end=window_end, evidence=evidence,
            consumer_id=worst["consumer_id"], key_id=worst["key_id"],
            dataset_id=datasets[0] if len(datasets) == 1 else "",
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The credential's calls per minute over the day."""
        start, end = features.read_range(window)
        keys = [(a.key_id or a.consumer_id, a.window_start.date()) for a in alerts]
        series = features.minute_series(client, SERIES_KEY, SERIES_TYPES, keys, start, end)
        for alert, key in zip(alerts, keys, strict=True):
            alert.evidence["per_minute"] = series.get(key, [])
        return super().explain(client, window, alerts)
