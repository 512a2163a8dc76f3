"""Scraping: one entity walking a dataset page by page (第三十条).

Lawful users read a few pages at a time; a scraper asks for page 1, 2, 3, …
(or offset 0, 100, 200, …) hundreds of times in a few hours and ends up with far
more rows than anyone else takes from that dataset in a day. The entity is the
consumer, or for anonymous traffic the client IP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window
from odwatch import clock

# Walks are found in two steps. First only the deep pages (past `deep_page`, where lawful reading
# never goes) are counted, which leaves a handful of (entity, dataset, day) candidates out of millions
# of calls; then the candidates' whole walks are read, by dataset (the table's first sort key), and those
# long and contiguous enough to pass the rule are the walks under suspicion.
DEEP_WALKS = features.with_paging("""
SELECT consumer_id, if(consumer_id = '', client_ip, '') AS anon_ip, dataset_id, toDate(ts) AS day
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND {paged}
  AND status < 400
  AND {page_index} > {deep_page:UInt64}
GROUP BY consumer_id, anon_ip, dataset_id, day
HAVING count() >= {min_deep_calls:UInt64}
""")

PAGE_WALKS = features.with_paging("""
SELECT
    consumer_id, anon_ip, dataset_id, day,
    count() AS calls,
    uniqExact(page) AS pages,
    arraySort(groupUniqArray(page)) AS page_list,
    sum(rows) AS rows_taken,
    max(page_size) AS page_size,
    uniqExact(client_ip) AS ips,
    topK(5)(client_ip) AS some_ips,
    min(ts) AS first_seen,
    max(ts) AS last_seen
FROM (
    SELECT consumer_id, if(consumer_id = '', client_ip, '') AS anon_ip, dataset_id, toDate(ts) AS day,
           ts, client_ip, rows, {page_index} AS page, {page_size} AS page_size
    FROM access_log
    WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
      AND dataset_id IN {dataset_ids:Array(String)}
      AND (consumer_id, if(consumer_id = '', client_ip, ''), dataset_id, toDate(ts))
          IN {candidates:Array(Tuple(String, String, String, Date))}
      AND status < 400
)
WHERE page > 0
GROUP BY consumer_id, anon_ip, dataset_id, day
HAVING pages >= {min_pages:UInt32}
   AND pages / (page_list[-1] - page_list[1] + 1) >= {min_contiguity:Float64}
""")

# What the other entities take from each dataset through the API in a day: the yardstick for "far beyond
# the norm" (a whole-file download is lawful and not a walk, so downloads do not set the norm). The walks
# under suspicion are left out so a dataset with few users is not measured by its scraper.
DATASET_NORMS = """
SELECT dataset_id, quantileExact(0.5)(rows_taken) AS median_rows, count() AS entity_days
FROM (
    SELECT consumer_id, if(consumer_id = '', client_ip, '') AS anon_ip, dataset_id, toDate(ts) AS day,
           sum(rows) AS rows_taken
    FROM access_log
    WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
      AND dataset_id IN {dataset_ids:Array(String)}
      AND channel != 'download'
    GROUP BY consumer_id, anon_ip, dataset_id, day
)
WHERE (consumer_id, anon_ip, dataset_id, day) NOT IN {walks:Array(Tuple(String, String, String, Date))}
GROUP BY dataset_id
"""

SERIES_KEY = "(consumer_id, if(consumer_id = '', client_ip, ''), dataset_id, toDate(ts))"
SERIES_TYPES = "String, String, String, Date"


@dataclass(frozen=True)
class ScrapingDetector(Detector):
    """Sequential enumeration of pages or offsets of one dataset by one entity in one day."""

    id = "scraping"
    category = "scraping"
    article = features.ARTICLE
    family = "malicious"

    min_pages: int = 80             # distinct pages walked in one day
    deep_page: int = 10             # lawful readers stay on the first few pages
    min_contiguity: float = 0.7     # share of pages between first and last that were actually read
    coverage_factor: float = 5.0    # rows taken vs the dataset's median entity-day

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per page walk under suspicion (entity, dataset, day): calls, the sorted `page_list`,
        rows taken, page size, addresses, first and last call; with the dataset's norm (the median rows
        other entities took from it that day, `dataset_median_rows`) and size (`dataset_rows`)."""
        start, end = features.read_range(window)
        candidates = [tuple(r) for r in client.query(DEEP_WALKS, parameters={
            "start": start, "end": end, "deep_page": self.deep_page,
            "min_deep_calls": max(self.min_pages - self.deep_page, 1)}).result_rows]
        if not candidates:
            return pl.DataFrame()
        walks = list(client.query(PAGE_WALKS, parameters={
            "start": start, "end": end, "min_pages": self.min_pages, "min_contiguity": self.min_contiguity,
            "candidates": candidates, "dataset_ids": sorted({c[2] for c in candidates})}).named_results())
        if not walks:
            return pl.DataFrame()
        datasets = sorted({w["dataset_id"] for w in walks})
        keys = [(w["consumer_id"], w["anon_ip"], w["dataset_id"], w["day"]) for w in walks]
        norms = {d: m for d, m, _ in client.query(DATASET_NORMS, parameters={
            "start": start, "end": end, "dataset_ids": datasets, "walks": keys}).result_rows}
        sizes = features.dataset_sizes(client, datasets)
        return pl.DataFrame([{**w, "dataset_median_rows": norms.get(w["dataset_id"], 0),
                              "dataset_rows": sizes.get(w["dataset_id"], 0)} for w in walks],
                            infer_schema_length=None)

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """Long, nearly contiguous walks taking far more rows than the dataset's usual entity-day."""
        if frame.is_empty():
            return []
        return [self._alert(walk) for walk in frame.iter_rows(named=True)
                if walk["pages"] >= self.min_pages
                and self._contiguity(walk["page_list"]) >= self.min_contiguity
                and walk["rows_taken"] >= self.coverage_factor * max(walk["dataset_median_rows"], 1)]

    @staticmethod
    def _contiguity(pages: list[int]) -> float:
        return len(pages) / (pages[-1] - pages[0] + 1) if pages else 0.0

    def _alert(self, walk: dict) -> Alert:
        pages = walk["page_list"]
        runs, missing = features.page_runs(pages)
        norm, dataset_rows = walk["dataset_median_rows"], walk["dataset_rows"]
        ratio = walk["rows_taken"] / max(norm, 1)
        strength = min(walk["pages"] / self.min_pages, ratio / self.coverage_factor)
        day: date = walk["day"]
        window_start, window_end = clock.day_window(day)
        main_ip = walk["some_ips"][0]
        evidence = {
            "calls": walk["calls"],
            "distinct_pages": walk["pages"],
            "first_page": pages[0],
            "last_page": pages[-1],
            "missing_pages": missing,
            "gaps": features.gaps_of(runs),
            "longest_run": max(b - a + 1 for a, b in runs),
            "page_size": walk["page_size"],
            "rows_taken": walk["rows_taken"],
            "dataset_median_rows_per_entity_day": norm,
            "times_dataset_norm": round(ratio, 1),
            "dataset_row_count": dataset_rows,
            "dataset_coverage": round(walk["rows_taken"] / dataset_rows, 3) if dataset_rows else None,
            "client_ips": walk["some_ips"],
            "distinct_ips": walk["ips"],
            "first_seen": clock.iso(walk["first_seen"]),
            "last_seen": clock.iso(walk["last_seen"]),
            "thresholds": {"min_pages": self.min_pages, "min_contiguity": self.min_contiguity,
                           "coverage_factor": self.coverage_factor},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=features.severity_for(strength), score=round(strength, 3),
            message="alerts.scraping", params={"first_page": pages[0], "last_page": pages[-1],
                                               "rows": walk["rows_taken"], "times": round(ratio, 1)},
            window_start=window_start, window_end=window_end, evidence=evidence,
            # A consumer's alert also names the address the walk mostly came from.
            consumer_id=walk["consumer_id"], client_ip=walk["anon_ip"] or main_ip,
            dataset_id=walk["dataset_id"],
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The walk's calls per minute."""
        start, end = features.read_range(window)
        keys = [(a.consumer_id, "" if a.consumer_id else a.client_ip, a.dataset_id, a.window_start.date())
                for a in alerts]
        series = features.minute_series(client, SERIES_KEY, SERIES_TYPES, keys, start, end,
                                        [a.dataset_id for a in alerts])
        for alert, key in zip(alerts, keys, strict=True):
            alert.evidence["per_minute"] = series.get(key, [])
        return super().explain(client, window, alerts)
