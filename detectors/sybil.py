"""Sybil harvesting: several accounts behind one IP sharing out a dataset (第三十条).

Each account pages through its own slice of the same dataset from the same
address, so each stays small and under its quota while together they walk the
whole thing. Colleagues behind one office NAT read the same first pages; these
read disjoint ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window
from odwatch import clock

# First the addresses from which several consumers read deep pages (past `deep_page`, where lawful
# reading never goes) of one dataset in a day; then, for those only, the members (consumers who walked at
# least `min_pages_each` pages) with the pages each read, and how many distinct pages they took together.
SHARED_DEEP_READS = features.with_paging("""
SELECT client_ip, dataset_id, toDate(ts) AS day
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND consumer_id != ''
  AND {paged}
  AND status < 400
  AND {page_index} > {deep_page:UInt64}
GROUP BY client_ip, dataset_id, day
HAVING uniqExact(consumer_id) >= {min_consumers:UInt64}
""")

JOINT_WALKS = features.with_paging("""
WITH per_consumer AS (
    SELECT client_ip, dataset_id, day, consumer_id,
           count() AS calls, uniqExact(page) AS pages, min(page) AS first_page, max(page) AS last_page,
           sum(rows) AS rows_taken, groupUniqArray(page) AS page_set
    FROM (
        SELECT client_ip, dataset_id, toDate(ts) AS day, consumer_id, rows, {page_index} AS page
        FROM access_log
        WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
          AND dataset_id IN {dataset_ids:Array(String)}
          AND (client_ip, dataset_id, toDate(ts)) IN {candidates:Array(Tuple(String, String, Date))}
          AND consumer_id != ''
          AND status < 400
    )
    WHERE page > 0
    GROUP BY client_ip, dataset_id, day, consumer_id
    HAVING pages >= {min_pages_each:UInt64}
)
SELECT client_ip, dataset_id, day,
       count() AS consumers,
       arraySort(m -> m.4,
                 groupArray((consumer_id, calls, pages, first_page, last_page, rows_taken))) AS members,
       sum(pages) AS pages_sum,
       length(arrayDistinct(arrayFlatten(groupArray(page_set)))) AS pages_union,
       sum(rows_taken) AS rows_total
FROM per_consumer
GROUP BY client_ip, dataset_id, day
""")

QUOTAS = """
SELECT consumer_id, dataset_id, max(daily_call_quota) AS call_quota, max(daily_row_quota) AS row_quota
FROM agreements FINAL
WHERE (consumer_id, dataset_id) IN {pairs:Array(Tuple(String, String))}
GROUP BY consumer_id, dataset_id
"""

SERIES_KEY = "(client_ip, dataset_id, toDate(ts))"
SERIES_TYPES = "String, String, Date"


@dataclass(frozen=True)
class SybilHarvestDetector(Detector):
    """>= `min_consumers` consumers from one IP paging disjoint ranges of one dataset in one day."""

    id = "sybil_harvest"
    category = "sybil_harvest"
    article = features.ARTICLE
    family = "malicious"

    min_consumers: int = 3
    min_pages_each: int = 10        # a member must have walked at least this many pages
    min_total_pages: int = 60       # distinct pages the members took together
    min_disjoint: float = 0.8       # distinct pages / sum of each member's pages: 1.0 = no overlap
    deep_page: int = 10             # lawful readers stay on the first few pages

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per address, dataset and day where several consumers read deep pages: the members
        (each with calls, pages, first and last page, rows and the daily quotas of its agreement),
        their count, the sum of their pages and the distinct pages they took together."""
        start, end = features.read_range(window)
        candidates = [tuple(r) for r in client.query(SHARED_DEEP_READS, parameters={
            "start": start, "end": end, "deep_page": self.deep_page,
            "min_consumers": self.min_consumers}).result_rows]
        if not candidates:
            return pl.DataFrame()
        groups = list(client.query(JOINT_WALKS, parameters={
            "start": start, "end": end, "candidates": candidates,
            "dataset_ids": sorted({c[1] for c in candidates}),
            "min_pages_each": self.min_pages_each}).named_results())
        if not groups:
            return pl.DataFrame()
        pairs = sorted({(m[0], g["dataset_id"]) for g in groups for m in g["members"]})
        quotas = {(c, d): (cq, rq) for c, d, cq, rq in client.query(
            QUOTAS, parameters={"pairs": pairs}).result_rows}
        for group in groups:
            members = []
            for consumer_id, calls, pages, first, last, rows in group["members"]:
                call_quota, row_quota = quotas.get((consumer_id, group["dataset_id"]), (0, 0))
                members.append({"consumer_id": consumer_id, "calls": calls, "pages": pages,
                                "first_page": first, "last_page": last, "rows": rows,
                                "daily_call_quota": call_quota, "daily_row_quota": row_quota})
            group["members"] = members
        return pl.DataFrame(groups, infer_schema_length=None)

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """Enough members taking enough pages together, with little overlap between them."""
        if frame.is_empty():
            return []
        return [self._alert(group) for group in frame.iter_rows(named=True)
                if group["consumers"] >= self.min_consumers and group["pages_union"] >= self.min_total_pages
                and group["pages_union"] >= self.min_disjoint * group["pages_sum"]]

    def _alert(self, group: dict) -> Alert:
        members = [{
            **{k: m[k] for k in ("consumer_id", "calls", "pages", "first_page", "last_page", "rows")},
            "daily_call_quota": m["daily_call_quota"] or None,
            "daily_row_quota": m["daily_row_quota"] or None,
            "under_quota": (not m["daily_call_quota"] or m["calls"] <= m["daily_call_quota"])
                           and (not m["daily_row_quota"] or m["rows"] <= m["daily_row_quota"]),
        } for m in group["members"]]
        strength = group["consumers"] / self.min_consumers * group["pages_union"] / self.min_total_pages
        window_start, window_end = clock.day_window(group["day"])
        evidence = {
            "client_ip": group["client_ip"],
            "consumers": group["consumers"],
            "members": members,
            "distinct_pages_together": group["pages_union"],
            "overlap_pages": group["pages_sum"] - group["pages_union"],
            "rows_together": group["rows_total"],
            "all_members_under_quota": all(m["under_quota"] for m in members),
            "thresholds": {"min_consumers": self.min_consumers, "min_pages_each": self.min_pages_each,
                           "min_total_pages": self.min_total_pages, "min_disjoint": self.min_disjoint},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=features.severity_for(strength), score=round(strength, 3),
            message="alerts.sybil_harvest", params={"consumers": group["consumers"], "ip": group["client_ip"],
                                                    "pages": group["pages_union"]},
            window_start=window_start, window_end=window_end, evidence=evidence,
            client_ip=group["client_ip"], dataset_id=group["dataset_id"],
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The address's calls per minute on the dataset."""
        start, end = features.read_range(window)
        keys = [(a.client_ip, a.dataset_id, a.window_start.date()) for a in alerts]
        series = features.minute_series(client, SERIES_KEY, SERIES_TYPES, keys, start, end,
                                        [a.dataset_id for a in alerts])
        for alert, key in zip(alerts, keys, strict=True):
            alert.evidence["per_minute"] = series.get(key, [])
        return super().explain(client, window, alerts)
