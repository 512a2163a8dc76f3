"""Burst: a consumer's hourly volume far above its own trailing baseline (第三十条).

Only data delivered counts (calls answered below 400): a stream of refused
calls pulls nothing, and a broken client asking all day for a withdrawn id is
not a burst (refusals are the probing detector's business).

The baseline is the median (and MAD) of the consumer's active hours over the
`lookback` days before the day in question, read from the hourly rollup, so a
heavy consumer that is always heavy never bursts and a small one that suddenly
pulls ten times its habit does.

A consumer with too little history (a newcomer, or anyone on the first days of
a new deployment) is not skipped: it is judged against its peers, consumers of
the same kind over the same days (`peer_ratio` times the median of their busiest
hour of a day), or without enough peers against the absolute
`cold_limit`; and when it already has enough active hours (today's included),
also against those, so a steady client that calls every minute from its first
day is not a burst. The evidence says which baseline was used.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window, query_frame
from odwatch import clock

# Busy hours: per consumer the delivered calls of each hour and of that hour with the one before (a burst
# that straddles a clock hour still shows whole), kept when either reaches `min_calls`. Each rollup row
# counts towards its own hour and the next one, which gives both sums in one aggregation, without sorting.
BUSY_HOURS = """
SELECT consumer_id, window_hour AS busy_hour, toDate(window_hour) AS day,
       sumIf(calls - errors, hour = window_hour) AS one_hour_calls,
       sum(calls - errors) AS two_hour_calls,
       sumIf(rows, hour = window_hour) AS rows_taken,
       sumIf(errors, hour = window_hour) AS hour_errors
FROM usage_hourly
ARRAY JOIN [hour, hour + INTERVAL 1 HOUR] AS window_hour
WHERE hour >= {start:DateTime('Asia/Shanghai')} - INTERVAL 1 HOUR AND hour < {end:DateTime('Asia/Shanghai')}
  AND consumer_id != ''
GROUP BY consumer_id, window_hour
HAVING busy_hour >= {start:DateTime('Asia/Shanghai')} AND busy_hour < {end:DateTime('Asia/Shanghai')}
   AND one_hour_calls > 0      -- the hour after a burst is not itself part of it
   AND (one_hour_calls >= {min_calls:UInt64} OR two_hour_calls >= {min_calls:UInt64})
"""

# The baselines of each busy consumer-day, from the delivered calls of the consumer's active hours in the
# hourly rollup (a window frame over day numbers): median and MAD over the `lookback_days` days before it,
# and for a consumer with too little history, over those days and the day itself ("so far").
BASELINES = """
WITH daily AS (
    SELECT consumer_id, toDate(hour) AS day, groupArray(calls) AS day_calls
    FROM (
        SELECT consumer_id, hour, sum(calls) - sum(errors) AS calls
        FROM usage_hourly
        WHERE hour >= {base_start:DateTime('Asia/Shanghai')} AND hour < {end:DateTime('Asia/Shanghai')}
          AND consumer_id IN {consumers:Array(String)}
        GROUP BY consumer_id, hour
        HAVING calls > 0
    )
    GROUP BY consumer_id, day
)
SELECT consumer_id, day, prior_days, length(prior_calls) AS prior_hours,
       arrayReduce('quantileExact(0.5)', prior_calls) AS median_calls,
       arrayReduce('quantileExact(0.5)',
                   arrayMap(c -> abs(toFloat64(c) - median_calls), prior_calls)) AS mad,
       length(so_far_calls) AS own_hours,
       arrayReduce('quantileExact(0.5)', so_far_calls) AS own_median,
       arrayReduce('quantileExact(0.5)',
                   arrayMap(c -> abs(toFloat64(c) - own_median), so_far_calls)) AS own_mad
FROM (
    SELECT consumer_id, day,
           groupArrayArray(day_calls) OVER prior AS prior_calls,
           count() OVER prior AS prior_days,
           groupArrayArray(day_calls) OVER so_far AS so_far_calls
    FROM daily
    WINDOW prior AS (PARTITION BY consumer_id ORDER BY toRelativeDayNum(day)
                     RANGE BETWEEN {lookback_days:UInt32} PRECEDING AND 1 PRECEDING),
           so_far AS (PARTITION BY consumer_id ORDER BY toRelativeDayNum(day)
                      RANGE BETWEEN {lookback_days:UInt32} PRECEDING AND CURRENT ROW)
)
WHERE (consumer_id, day) IN {days:Array(Tuple(String, Date))}
"""

# Peers of a consumer without history: the consumers of its kind (all consumers for one of no known kind).
# Their usual busy hour is the median, over every peer consumer-day of the `lookback_days` days up to and
# including the day, of that consumer's busiest hour of that day: a median, so a few peers bursting
# themselves do not set the yardstick. Asked only for the consumer-days that need it.
KINDS = """
SELECT consumer_id, argMax(kind, updated_at) AS kind
FROM consumers
WHERE consumer_id IN {consumers:Array(String)}
GROUP BY consumer_id
"""

PEER_HOURS = """
WITH kinds AS (SELECT consumer_id, argMax(kind, updated_at) AS kind FROM consumers GROUP BY consumer_id),
busiest AS (
    SELECT consumer_id, toDate(hour) AS day, max(calls) AS busiest_hour
    FROM (
        SELECT consumer_id, hour, sum(calls) - sum(errors) AS calls
        FROM usage_hourly
        WHERE hour >= {base_start:DateTime('Asia/Shanghai')} AND hour < {end:DateTime('Asia/Shanghai')}
          AND consumer_id != ''
        GROUP BY consumer_id, hour
        HAVING calls > 0
    )
    GROUP BY consumer_id, day
),
daily AS (
    SELECT peer_group, day, groupArray(busiest_hour) AS day_busiest
    FROM busiest AS b
    LEFT JOIN kinds AS k ON k.consumer_id = b.consumer_id
    ARRAY JOIN arrayDistinct(['', k.kind]) AS peer_group
    WHERE peer_group IN {groups:Array(String)}
    GROUP BY peer_group, day
)
SELECT peer_group, day, length(busiest_so_far) AS peer_days,
       arrayReduce('quantileExact(0.5)', busiest_so_far) AS peer_busy_hour
FROM (
    SELECT peer_group, day, groupArrayArray(day_busiest) OVER so_far AS busiest_so_far
    FROM daily
    WINDOW so_far AS (PARTITION BY peer_group ORDER BY toRelativeDayNum(day)
                      RANGE BETWEEN {lookback_days:UInt32} PRECEDING AND CURRENT ROW)
)
WHERE (peer_group, day) IN {days:Array(Tuple(String, Date))}
"""

# For the evidence of the flagged hours only: which datasets the burst went to, per consumer and hour,
BURST_DATASETS = """
SELECT consumer_id, hour, dataset_id, sum(calls) AS calls
FROM usage_hourly
WHERE (consumer_id, hour) IN {hours:Array(Tuple(String, DateTime('Asia/Shanghai')))}
GROUP BY consumer_id, hour, dataset_id
"""

# and where it came from, per consumer, hour and address.
BURST_ADDRESSES = """
SELECT consumer_id, toStartOfHour(ts) AS hour, client_ip, count() AS calls
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND dataset_id IN {datasets:Array(String)}
  AND (consumer_id, toStartOfHour(ts)) IN {hours:Array(Tuple(String, DateTime('Asia/Shanghai')))}
GROUP BY consumer_id, hour, client_ip
"""

SERIES_KEY = "(consumer_id, toStartOfHour(ts))"
SERIES_TYPES = "String, DateTime('Asia/Shanghai')"


@dataclass(frozen=True)
class BurstDetector(Detector):
    """Hours delivering >= `ratio` × the consumer's median active hour of the previous days (or, without
    that history, far above its peers' busy hour)."""

    id = "burst"
    category = "burst"
    article = features.ARTICLE
    family = "malicious"
    lookback: ClassVar[timedelta] = timedelta(days=7)

    ratio: float = 8.0              # times the consumer's median active hour
    mad_k: float = 6.0              # and this many MADs above the median
    min_calls: int = 40             # an hour delivering less is never a burst
    min_prior_days: int = 3         # active days of history needed to speak of a baseline
    peer_ratio: float = 6.0         # times the peers' usual busiest hour of a day
    min_peer_days: int = 10         # peer consumer-days needed to speak of peers
    cold_limit: int = 300           # delivered calls an hour: without history or peers, a burst from here
    min_own_hours: int = 6          # a newcomer's own active hours (today's included) that count as a habit

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per busy consumer-hour: its delivered calls (alone and with the hour before), rows,
        refused calls, and the consumer's baselines for that day: own history (`prior_days`,
        `prior_hours`, `median_calls`, `mad`), own hours so far (`own_hours`, `own_median`, `own_mad`)
        and, for those without history, its peers (`peer_group`, `peer_days`, `peer_busy_hour`)."""
        start, end = features.read_range(window, self.lookback)
        busy = query_frame(client, BUSY_HOURS, {"start": start, "end": end, "min_calls": self.min_calls})
        if busy.is_empty():
            return busy
        busy = busy.rename({"busy_hour": "hour", "one_hour_calls": "calls", "hour_errors": "errors"})
        days = sorted(set(busy.select("consumer_id", "day").iter_rows()))
        consumers = sorted({c for c, _ in days})
        baselines = query_frame(client, BASELINES, {
            "base_start": start - self.lookback, "end": end, "lookback_days": self.lookback.days,
            "consumers": consumers, "days": days})
        # Every busy hour has a baseline row (its own day is in the rollup), if only one without history.
        frame = busy.join(baselines, on=["consumer_id", "day"], how="inner")
        kinds = dict(client.query(KINDS, parameters={"consumers": consumers}).result_rows)
        frame = frame.with_columns(peer_group=pl.col("consumer_id").replace_strict(
            kinds, default="", return_dtype=pl.String))
        cold = sorted(set(frame.filter(pl.col("prior_days") < self.min_prior_days)
                          .select("peer_group", "day").iter_rows()))
        peers = query_frame(client, PEER_HOURS, {
            "base_start": start - self.lookback, "end": end, "lookback_days": self.lookback.days,
            "groups": sorted({g for g, _ in cold}), "days": cold,
        }) if cold else pl.DataFrame()
        if peers.is_empty():
            return frame.with_columns(peer_days=pl.lit(0, pl.UInt64), peer_busy_hour=pl.lit(0.0))
        return frame.join(peers, on=["peer_group", "day"], how="left").with_columns(
            pl.col("peer_days", "peer_busy_hour").fill_null(0))

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """One alert per consumer and day with bursting hours, stronger the further above its baseline."""
        if frame.is_empty():
            return []
        by_day: dict[tuple, list[dict]] = defaultdict(list)
        for row in frame.sort("consumer_id", "hour").iter_rows(named=True):
            if self._bursts(row):
                by_day[(row["consumer_id"], row["day"])].append(row)
        return [self._alert(rows) for rows in by_day.values()]

    def baseline(self, hour: dict) -> tuple[str, float, float]:
        """(which baseline, the usual hour it stands for, the floor a burst must reach) for a busy hour."""
        if hour["prior_days"] >= self.min_prior_days:
            usual = float(hour["median_calls"])
            return "own", usual, max(self.ratio * max(usual, 1), usual + self.mad_k * max(hour["mad"], 1.0))
        floor = float(self.min_calls)
        if hour["own_hours"] >= self.min_own_hours:
            # A newcomer's own hours so far: a client steady from its first day sets its own level.
            own = float(hour["own_median"])
            floor = max(floor, self.ratio * max(own, 1), own + self.mad_k * max(hour["own_mad"], 1.0))
        if hour["peer_days"] >= self.min_peer_days:
            usual = float(hour["peer_busy_hour"])
            return "peers", usual, max(floor, self.peer_ratio * max(usual, 1))
        return "absolute", float(self.cold_limit), max(floor, float(self.cold_limit))

    def _bursts(self, hour: dict) -> bool:
        """The hour, or the hour with the one before, far above the consumer's baseline."""
        hour["baseline"], hour["usual"], floor = self.baseline(hour)
        hour["floor"] = floor
        one_hour, two_hours = hour["calls"], hour["two_hour_calls"]
        hour["rate"] = max(float(one_hour), two_hours / 2)
        return (one_hour >= self.min_calls and one_hour >= floor
                or two_hours >= self.min_calls and two_hours / 2 >= floor)

    def _alert(self, rows: list[dict]) -> Alert:
        consumer_id, day = rows[0]["consumer_id"], rows[0]["day"]
        first = rows[0]
        kind, usual = first["baseline"], first["usual"]
        peak = max(rows, key=lambda r: r["rate"])
        if kind == "own":
            strength = peak["rate"] / max(usual, 1) / self.ratio
        else:
            strength = peak["rate"] / max(peak["floor"], 1)
        window_start, window_end = clock.day_window(day)
        evidence: dict[str, Any] = {
            "burst_hours": [{"hour": _hour_text(r["hour"]),
                             "calls": r["calls"], "calls_with_hour_before": r["two_hour_calls"],
                             "rows": r["rows_taken"], "errors": r["errors"],
                             "times_baseline": round(r["rate"] / max(usual, 1), 1)} for r in rows],
            "peak_calls_per_hour": round(peak["rate"], 1),
            "baseline": kind,
            "baseline_median_calls_per_active_hour": first["median_calls"] if kind == "own" else None,
            "baseline_mad": round(first["mad"], 1) if kind == "own" else None,
            "baseline_days": first["prior_days"],
            "baseline_active_hours": first["prior_hours"],
            "baseline_lookback_days": self.lookback.days,
            "thresholds": {"ratio": self.ratio, "mad_k": self.mad_k, "min_calls": self.min_calls},
        }
        if kind != "own":
            evidence.update({
                "own_hours_so_far": first["own_hours"], "own_median_so_far": first["own_median"],
                "peer_group": first["peer_group"] or "all", "peer_days": first["peer_days"],
                "peer_busy_hour": first["peer_busy_hour"], "burst_floor": round(peak["floor"], 1),
            })
            evidence["thresholds"].update({"peer_ratio": self.peer_ratio, "cold_limit": self.cold_limit})
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=features.severity_for(strength), score=round(strength, 3),
            message="alerts.burst" if kind == "own" else f"alerts.burst.{kind}",
            params={"rate": round(peak["rate"], 1), "times": round(peak["rate"] / max(usual, 1), 1),
                    "usual": usual},
            window_start=window_start, window_end=window_end, evidence=evidence, consumer_id=consumer_id,
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The datasets and addresses of the burst hours, and their calls per minute. The alert names
        one dataset when it took most of the burst, and one address when (nearly) all of it came
        from there: only the log knows, so this step sets them."""
        if not alerts:
            return alerts
        start, end = features.read_range(window, self.lookback)
        keys = [(a.consumer_id, hour) for a in alerts for hour in _burst_hours(a)]
        datasets: dict[tuple, dict[str, int]] = defaultdict(dict)
        for consumer_id, hour, dataset_id, calls in client.query(
                BURST_DATASETS, parameters={"hours": keys}).result_rows:
            datasets[(consumer_id, clock.shanghai(hour))][dataset_id] = calls
        touched = sorted({d for calls in datasets.values() for d in calls})
        addresses: dict[tuple, dict[str, int]] = defaultdict(dict)
        for consumer_id, hour, client_ip, calls in client.query(BURST_ADDRESSES, parameters={
                "start": min(k[1] for k in keys), "end": max(k[1] for k in keys) + timedelta(hours=1),
                "hours": keys, "datasets": touched}).result_rows:
            addresses[(consumer_id, clock.shanghai(hour))][client_ip] = calls
        series = features.minute_series(client, SERIES_KEY, SERIES_TYPES, keys, start, end, touched)
        for alert in alerts:
            hours = [(alert.consumer_id, hour) for hour in _burst_hours(alert)]
            by_dataset = _summed(datasets.get(key, {}) for key in hours)
            by_ip = _summed(addresses.get(key, {}) for key in hours)
            top = next(iter(by_dataset), "")
            main_ip = next(iter(by_ip), "")
            alert.dataset_id = top if by_dataset and by_dataset[top] >= 0.8 * sum(by_dataset.values()) else ""
            alert.client_ip = main_ip if by_ip and by_ip[main_ip] >= 0.9 * sum(by_ip.values()) else ""
            alert.evidence.update({
                "calls_by_dataset": by_dataset,
                "calls_by_client_ip": dict(list(by_ip.items())[:10]),
                "per_minute": [point for key in hours for point in series.get(key, [])],
            })
        return super().explain(client, window, alerts)


def _hour_text(hour: datetime) -> str:
    return clock.shanghai(hour).strftime("%Y-%m-%d %H:00")


def _burst_hours(alert: Alert) -> list[datetime]:
    """The hours an alert's evidence lists, as Shanghai times."""
    return [clock.shanghai(datetime.strptime(h["hour"], "%Y-%m-%d %H:%M"))
            for h in alert.evidence["burst_hours"]]


def _summed(counts: Any) -> dict[str, int]:
    """Several {name: calls} added up, largest first."""
    totals: dict[str, int] = defaultdict(int)
    for part in counts:
        for name, calls in part.items():
            totals[name] += calls
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))
