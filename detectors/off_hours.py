"""Off-hours bulk pulls: large takes at night or on a statutory holiday (第三十条).

Only consumers whose own habit is daytime are judged: over the `lookback` days
before, little of their traffic fell between 00:00 and 05:59 Shanghai time. A
night pull is bulk when it holds many bulk calls (or very many calls) and alone
is as large as such a consumer's usual working day; a holiday pull when it is
several usual working days. Holidays come from the statutory calendar
(chinesecalendar), so ordinary weekends, a lawful file download and quiet
lawful holiday traffic stay out.
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
from odwatch.calendar import holiday_name, statutory_holidays

# Each consumer-day of the run from the log itself, counting bulk calls (calls returning >= `bulk_rows`
# rows), with its habit from the hourly rollup: over the previous `lookback_days` days the median
# working-day volume and the median night share of a day (a median, so one earlier night pull does not
# turn a daytime consumer into a night worker). The log is read for night and holiday calls only, and
# only the consumer-days with enough of them (no one else can pass the rule) go on to the rollup.
OFF_HOURS_PULLS = """
WITH pulls AS (
    SELECT consumer_id, toDate(ts) AS day,
           day IN {holidays:Array(Date)} AS holiday,
           sum(rows) AS day_rows,
           count() AS day_calls,
           countIf(rows >= {bulk_rows:UInt64}) AS day_bulk_calls,
           sumIf(rows, toHour(ts) < {night_end:UInt8}) AS night_rows,
           countIf(toHour(ts) < {night_end:UInt8}) AS night_calls,
           countIf(toHour(ts) < {night_end:UInt8} AND rows >= {bulk_rows:UInt64}) AS night_bulk_calls,
           countIf(channel = 'download') AS downloads,
           countIf(channel = 'download' AND toHour(ts) < {night_end:UInt8}) AS night_downloads,
           groupUniqArrayIf(20)(dataset_id, rows >= {bulk_rows:UInt64}) AS bulk_datasets,
           min(ts) AS first_seen,
           max(ts) AS last_seen
    FROM access_log
    WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
      AND consumer_id != ''
      -- only the night and holiday calls: a small share of the log, and all this detector judges
      AND (toHour(ts) < {night_end:UInt8} OR toDate(ts) IN {holidays:Array(Date)})
    GROUP BY consumer_id, day
    HAVING night_bulk_calls >= {min_bulk_calls:UInt64} OR night_calls >= {min_calls:UInt64}
        OR holiday AND (day_bulk_calls >= {min_bulk_calls:UInt64} OR day_calls >= {min_calls:UInt64})
),
per_day AS (
    SELECT consumer_id, toDate(hour) AS day,
           sum(rows) AS rows_taken, sum(calls) AS all_calls,
           sumIf(calls, toHour(hour) < {night_end:UInt8}) AS night_calls,
           toDayOfWeek(day) <= 5 AND day NOT IN {holidays:Array(Date)} AS workday
    FROM usage_hourly
    WHERE hour >= {base_start:DateTime('Asia/Shanghai')} AND hour < {end:DateTime64(3, 'Asia/Shanghai')}
      AND consumer_id IN (SELECT consumer_id FROM pulls)
    GROUP BY consumer_id, day
),
habit AS (
    SELECT consumer_id, day, prior_days,
           arrayReduce('quantileExact(0.5)', prior_rows) AS usual_rows,
           arrayReduce('quantileExact(0.5)', prior_calls) AS usual_calls,
           arrayReduce('quantileExact(0.5)', prior_night_shares) AS night_share
    FROM (
        SELECT consumer_id, day,
               count() OVER prior AS prior_days,
               groupArrayIf(rows_taken, workday) OVER prior AS prior_rows,
               groupArrayIf(all_calls, workday) OVER prior AS prior_calls,
               groupArray(night_calls / all_calls) OVER prior AS prior_night_shares
        FROM per_day
        WINDOW prior AS (PARTITION BY consumer_id ORDER BY toRelativeDayNum(day)
                         RANGE BETWEEN {lookback_days:UInt32} PRECEDING AND 1 PRECEDING)
    )
    WHERE day >= toDate({start:DateTime64(3, 'Asia/Shanghai')})
)
SELECT p.*, h.usual_rows AS usual_rows, h.usual_calls AS usual_calls, h.night_share AS night_share,
       h.prior_days AS prior_days
FROM pulls AS p
INNER JOIN habit AS h ON h.consumer_id = p.consumer_id AND h.day = p.day
ORDER BY consumer_id, day
"""

# The hours of a flagged day, for the evidence.
HOURS = """
SELECT consumer_id, toDate(hour) AS day, toHour(hour) AS h, sum(calls) AS calls, sum(rows) AS rows_taken
FROM usage_hourly
WHERE hour >= {start:DateTime64(3, 'Asia/Shanghai')} AND hour < {end:DateTime64(3, 'Asia/Shanghai')}
  AND (consumer_id, toDate(hour)) IN {keys:Array(Tuple(String, Date))}
GROUP BY consumer_id, day, h
ORDER BY consumer_id, day, h
"""

SERIES_KEY = "(consumer_id, toDate(ts))"
SERIES_TYPES = "String, Date"


@dataclass(frozen=True)
class OffHoursBulkDetector(Detector):
    """Bulk pulls between 00:00 and `night_end` o'clock, or on statutory holidays, by a daytime consumer."""

    id = "off_hours_bulk"
    category = "off_hours_bulk"
    article = features.ARTICLE
    family = "malicious"
    lookback: ClassVar[timedelta] = timedelta(days=28)

    night_end: int = 6                  # night is 00:00 up to this hour
    night_factor: float = 1.0           # night take vs the consumer's usual working day
    holiday_factor: float = 3.0         # holiday take vs the consumer's usual working day
    bulk_rows: int = 1000               # a call returning this many rows is a bulk call (a file, a big page)
    min_bulk_calls: int = 10            # one lawful download is not a bulk pull
    min_rows: int = 5000
    min_calls: int = 200                # or this many calls of any size
    max_night_share: float = 0.1        # the consumer's median night share of a day must be below this
    min_prior_days: int = 5

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per consumer-day with a large night or holiday take: the day's and the night's calls,
        rows and bulk calls, whether it is a `holiday`, and the consumer's habit before it
        (`usual_rows`, `usual_calls` of a working day, `night_share`, `prior_days`)."""
        start, end = features.read_range(window, self.lookback)
        base_start = start - self.lookback
        return query_frame(client, OFF_HOURS_PULLS, {
            "base_start": base_start, "start": start, "end": end,
            "holidays": statutory_holidays(base_start.date(), end.date()),
            "lookback_days": self.lookback.days, "night_end": self.night_end, "bulk_rows": self.bulk_rows,
            "min_bulk_calls": self.min_bulk_calls, "min_calls": self.min_calls,
        })

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """A daytime consumer's night take as large as its usual working day, or its holiday take
        several usual working days."""
        if frame.is_empty():
            return []
        alerts = []
        for row in frame.iter_rows(named=True):
            daytime = row["prior_days"] >= self.min_prior_days and row["night_share"] <= self.max_night_share
            holiday_bulk = bool(row["holiday"]) and self._bulk(row["day_bulk_calls"], row["day_rows"],
                                                               row["day_calls"], row, self.holiday_factor)
            night_bulk = self._bulk(row["night_bulk_calls"], row["night_rows"], row["night_calls"], row,
                                    self.night_factor)
            if daytime and (night_bulk or holiday_bulk):
                alerts.append(self._alert(row, holiday_bulk))
        return alerts

    def _bulk(self, bulk_calls: int, rows: int, calls: int, habit: dict, factor: float) -> bool:
        """Many bulk calls (or very many calls) adding up to `factor` usual working days."""
        return (bulk_calls >= self.min_bulk_calls and rows >= self.min_rows
                and rows >= factor * habit["usual_rows"]
                or calls >= self.min_calls and calls >= factor * habit["usual_calls"])

    def _alert(self, row: dict, holiday_bulk: bool) -> Alert:
        usual_rows, usual_calls = row["usual_rows"], row["usual_calls"]
        if holiday_bulk:
            took_rows, took_calls, factor = row["day_rows"], row["day_calls"], self.holiday_factor
        else:
            took_rows, took_calls, factor = row["night_rows"], row["night_calls"], self.night_factor
        times_rows = took_rows / max(usual_rows, 1)
        times_calls = took_calls / max(usual_calls, 1)
        strength = max(times_rows, times_calls) / factor
        datasets = sorted(row["bulk_datasets"])
        window_start, window_end = clock.day_window(row["day"])
        evidence = {
            "when": "holiday" if holiday_bulk else "night",
            "statutory_holiday": bool(row["holiday"]),
            "holiday": holiday_name(row["day"]) if row["holiday"] else "",
            "night_rows": row["night_rows"], "night_calls": row["night_calls"],
            "night_bulk_calls": row["night_bulk_calls"], "night_downloads": row["night_downloads"],
            "day_rows": row["day_rows"], "day_calls": row["day_calls"],
            "day_bulk_calls": row["day_bulk_calls"], "downloads": row["downloads"],
            "bulk_datasets": datasets,
            "usual_working_day_rows": usual_rows,
            "usual_working_day_calls": usual_calls,
            "times_usual_rows": round(times_rows, 1),
            "times_usual_calls": round(times_calls, 1),
            "own_night_share": round(row["night_share"], 3),
            "baseline_days": row["prior_days"],
            "baseline_lookback_days": self.lookback.days,
            "first_seen": clock.iso(row["first_seen"]),
            "last_seen": clock.iso(row["last_seen"]),
            "thresholds": {"night_factor": self.night_factor, "holiday_factor": self.holiday_factor,
                           "bulk_rows": self.bulk_rows, "min_bulk_calls": self.min_bulk_calls,
                           "min_rows": self.min_rows, "min_calls": self.min_calls,
                           "max_night_share": self.max_night_share},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=features.severity_for(strength), score=round(strength, 3),
            message="alerts.off_hours_bulk.holiday" if holiday_bulk else "alerts.off_hours_bulk.night",
            params={"rows": took_rows, "calls": took_calls, "times": round(max(times_rows, times_calls), 1),
                    "night_end": f"{self.night_end:02d}:00",
                    "holiday": holiday_name(row["day"]) if holiday_bulk else ""},
            window_start=window_start, window_end=window_end, evidence=evidence,
            consumer_id=row["consumer_id"], dataset_id=datasets[0] if len(datasets) == 1 else "",
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The consumer's calls and rows per hour of the day, and its calls per minute."""
        if not alerts:
            return alerts
        start, end = features.read_range(window, self.lookback)
        keys = [(a.consumer_id, a.window_start.date()) for a in alerts]
        hours: dict[tuple, list[dict]] = {}
        for consumer_id, day, hour, calls, taken in client.query(HOURS, parameters={
                "start": start, "end": end, "keys": keys}).result_rows:
            hours.setdefault((consumer_id, day), []).append({"hour": f"{hour:02d}:00", "calls": calls,
                                                             "rows": taken})
        series = features.minute_series(client, SERIES_KEY, SERIES_TYPES, keys, start, end)
        for alert, key in zip(alerts, keys, strict=True):
            alert.evidence.update({"hours": hours.get(key, []), "per_minute": series.get(key, [])})
        return super().explain(client, window, alerts)
