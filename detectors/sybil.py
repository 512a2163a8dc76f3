"""Sybil harvesting: several accounts behind one IP sharing out a dataset (第三十条).

Each account pages through its own slice of the same dataset from the same
address, so each stays small and under its quota while together they walk the
whole thing. Colleagues behind one office NAT read the same first pages; these
read disjoint ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window
from odwatch import clock

# First the addresses from which several consumers read deep pages (past `deep_page`, where lawful
# reading never goes) of one dataset in a day; then, for those only, per consumer the pages read and how
# many distinct pages all of them took together.
SHARED_DEEP_READS = """
SELECT client_ip, dataset_id, toDate(ts) AS day
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND consumer_id != ''
  AND (position(params, '"page"') > 0 OR position(params, '"offset"') > 0)
  AND status < 400
  AND {page_index} > {deep_page:UInt64}
GROUP BY client_ip, dataset_id, day
HAVING uniqExact(consumer_id) >= {min_consumers:UInt64}
""".replace("{page_index}", features.PAGE_INDEX)

JOINT_WALKS = """
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
HAVING consumers >= {min_consumers:UInt64}
   AND pages_union >= {min_total_pages:UInt64}
   AND pages_union >= {min_disjoint:Float64} * pages_sum
""".replace("{page_index}", features.PAGE_INDEX)

QUOTAS = """
SELECT consumer_id, dataset_id, max(daily_call_quota) AS call_quota, max(daily_row_quota) AS row_quota
FROM agreements FINAL
WHERE (consumer_id, dataset_id) IN {pairs:Array(Tuple(String, String))}
GROUP BY consumer_id, dataset_id
"""

SERIES_KEY = "(client_ip, dataset_id, toDate(ts))"
SERIES_TYPES = "String, String, Date"


@dataclass
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

    def run(self, client: Client, window: Window) -> list[Alert]:
        start, end = features.read_range(window)
        candidates = [tuple(r) for r in client.query(SHARED_DEEP_READS, parameters={
            "start": start, "end": end, "deep_page": self.deep_page,
            "min_consumers": self.min_consumers}).result_rows]
        if not candidates:
            return []
        groups = list(client.query(JOINT_WALKS, parameters={
            "start": start, "end": end, "candidates": candidates,
            "dataset_ids": sorted({c[1] for c in candidates}), "min_pages_each": self.min_pages_each,
            "min_consumers": self.min_consumers, "min_total_pages": self.min_total_pages,
            "min_disjoint": self.min_disjoint}).named_results())
        if not groups:
            return []
        pairs = sorted({(m[0], g["dataset_id"]) for g in groups for m in g["members"]})
        quotas = {(c, d): (cq, rq) for c, d, cq, rq in client.query(
            QUOTAS, parameters={"pairs": pairs}).result_rows}
        keys = [(g["client_ip"], g["dataset_id"], g["day"]) for g in groups]
        series = features.minute_series(client, SERIES_KEY, SERIES_TYPES, keys, start, end,
                                        [g["dataset_id"] for g in groups])
        agencies = features.agencies_for(client, [g["dataset_id"] for g in groups])
        return [self._alert(g, quotas, series.get(k, []), agencies.get(g["dataset_id"], ""))
                for g, k in zip(groups, keys, strict=True)]

    def _alert(self, group: dict, quotas: dict, series: list, agency_id: str) -> Alert:
        members = []
        for consumer_id, calls, pages, first, last, rows in group["members"]:
            call_quota, row_quota = quotas.get((consumer_id, group["dataset_id"]), (0, 0))
            members.append({
                "consumer_id": consumer_id, "calls": calls, "pages": pages, "first_page": first,
                "last_page": last, "rows": rows, "daily_call_quota": call_quota or None,
                "daily_row_quota": row_quota or None,
                "under_quota": (not call_quota or calls <= call_quota)
                               and (not row_quota or rows <= row_quota),
            })
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
            "per_minute": series,
            "thresholds": {"min_consumers": self.min_consumers, "min_pages_each": self.min_pages_each,
                           "min_total_pages": self.min_total_pages, "min_disjoint": self.min_disjoint},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=features.severity_for(strength), score=round(strength, 3),
            title=f"{group['consumers']} consumers from {group['client_ip']} split "
                  f"{group['pages_union']} pages of {group['dataset_id']} between them",
            window_start=window_start, window_end=window_end, evidence=evidence,
            client_ip=group["client_ip"], dataset_id=group["dataset_id"], agency_id=agency_id,
        )
