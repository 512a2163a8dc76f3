"""Distributed scraping: many addresses of one network sharing out a walk through a dataset (第三十条).

An anonymous harvester that rotates addresses keeps each one small: sixteen
addresses of one /24, each paging its own slice of a dataset, stay far below
what the per-address scraping detector looks for, while together they walk the
whole thing. Anonymous traffic is therefore also aggregated by network (IPv4
/24, IPv6 /48 by default) and dataset: several addresses that read deep pages
(past `deep_page`, where lawful reading never goes), taking disjoint or
sequential pages that together cover a long, nearly contiguous stretch, with
(nearly) one user agent, are one alert that lists the addresses.

Colleagues behind one egress address are one address here; neighbours of a
broadband network read the first pages of what interests them; a search engine's
crawlers sweep many datasets a page or two deep: none of them walks deep pages
of one dataset together.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window
from odwatch import clock

# The network of an address as text, "203.0.113.0/24" or "2001:db8:1::/48".
NETWORK = """if(isIPv4String(client_ip),
    concat(IPv4NumToString(IPv4CIDRToRange(toIPv4OrZero(client_ip), {ipv4_prefix:UInt8}).1), '/',
           toString({ipv4_prefix:UInt8})),
    concat(IPv6NumToString(IPv6CIDRToRange(toIPv6OrZero(client_ip), {ipv6_prefix:UInt8}).1), '/',
           toString({ipv6_prefix:UInt8})))"""

# First the networks from which several anonymous addresses read deep pages of one dataset in a day;
# then, for those only, each address's walk and the walk they make together.
SHARED_DEEP_READS = features.with_paging("""
SELECT {network} AS network, dataset_id, toDate(ts) AS day
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND consumer_id = ''
  AND {paged}
  AND status < 400
  AND {page_index} > {deep_page:UInt64}
GROUP BY network, dataset_id, day
HAVING uniqExact(client_ip) >= {min_addresses:UInt64}
""".replace("{network}", NETWORK))

JOINT_WALKS = features.with_paging("""
WITH per_address AS (
    SELECT network, dataset_id, day, client_ip,
           count() AS calls, uniqExact(page) AS pages, min(page) AS first_page, max(page) AS last_page,
           sum(rows) AS rows_taken, groupUniqArray(page) AS page_set, topK(1)(user_agent)[1] AS agent,
           min(ts) AS first_seen, max(ts) AS last_seen
    FROM (
        SELECT {network} AS network, dataset_id, toDate(ts) AS day, client_ip, rows, user_agent, ts,
               {page_index} AS page
        FROM access_log
        WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
          AND dataset_id IN {dataset_ids:Array(String)}
          AND consumer_id = ''
          AND status < 400
          AND (network, dataset_id, toDate(ts)) IN {candidates:Array(Tuple(String, String, Date))}
    )
    WHERE page > 0
    GROUP BY network, dataset_id, day, client_ip
    HAVING pages >= {min_pages_each:UInt64}
)
SELECT network, dataset_id, day,
       count() AS addresses,
       arraySort(m -> m.4, groupArray((client_ip, calls, pages, first_page, last_page, rows_taken)))
           AS members,
       sum(pages) AS pages_sum,
       arrayDistinct(arrayFlatten(groupArray(page_set))) AS union_pages,
       length(union_pages) AS pages_union,
       arrayMin(union_pages) AS union_first,
       arrayMax(union_pages) AS union_last,
       sum(rows_taken) AS rows_total,
       sum(calls) AS total_calls,
       groupArray(agent) AS member_agents,
       min(first_seen) AS first_seen,
       max(last_seen) AS last_seen
FROM per_address
GROUP BY network, dataset_id, day
HAVING addresses >= {min_addresses:UInt64}
""".replace("{network}", NETWORK))

SERIES_KEY = "(client_ip, dataset_id, toDate(ts))"
SERIES_TYPES = "String, String, Date"


@dataclass(frozen=True)
class DistributedScrapingDetector(Detector):
    """>= `min_addresses` anonymous addresses of one network paging disjoint slices of one dataset."""

    id = "distributed_scraping"
    category = "distributed_scraping"
    article = features.ARTICLE
    family = "malicious"

    ipv4_prefix: int = 24           # the network of an IPv4 address
    ipv6_prefix: int = 48           # and of an IPv6 address
    min_addresses: int = 4          # addresses walking together
    min_pages_each: int = 3         # an address counts when it read at least this many pages
    min_total_pages: int = 60       # distinct pages the addresses took together
    min_disjoint: float = 0.8       # distinct pages / the sum of each address's pages: 1.0 = no overlap
    min_contiguity: float = 0.7     # distinct pages / the stretch from first to last page
    min_agent_share: float = 0.8    # share of the addresses whose usual user agent is the common one
    deep_page: int = 10             # lawful readers stay on the first few pages

    def _prefixes(self) -> dict[str, int]:
        return {"ipv4_prefix": self.ipv4_prefix, "ipv6_prefix": self.ipv6_prefix}

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per network, dataset and day where several anonymous addresses read deep pages: the
        `members` (address, calls, pages, first and last page, rows), their count, the sum of their pages,
        the distinct pages together and their stretch, rows, the common user agent and how many
        addresses use it, and the dataset's size."""
        start, end = features.read_range(window)
        candidates = [tuple(r) for r in client.query(SHARED_DEEP_READS, parameters={
            "start": start, "end": end, "deep_page": self.deep_page, "min_addresses": self.min_addresses,
            **self._prefixes()}).result_rows]
        if not candidates:
            return pl.DataFrame()
        groups = list(client.query(JOINT_WALKS, parameters={
            "start": start, "end": end, "candidates": candidates, "min_addresses": self.min_addresses,
            "dataset_ids": sorted({c[1] for c in candidates}), "min_pages_each": self.min_pages_each,
            **self._prefixes()}).named_results())
        if not groups:
            return pl.DataFrame()
        sizes = features.dataset_sizes(client, {g["dataset_id"] for g in groups})
        rows = []
        for group in groups:
            group.pop("union_pages")
            agents = Counter(group.pop("member_agents"))
            group["main_agent"], group["addresses_with_main_agent"] = agents.most_common(1)[0]
            group["agents"] = [agent for agent, _ in agents.most_common(10)]
            group["members"] = [{"client_ip": ip, "calls": calls, "pages": pages, "first_page": first,
                                 "last_page": last, "rows": taken}
                                for ip, calls, pages, first, last, taken in group["members"]]
            rows.append({**group, "dataset_rows": sizes.get(group["dataset_id"], 0)})
        return pl.DataFrame(rows, infer_schema_length=None)

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """Enough addresses, a long and nearly contiguous stretch together, little overlap, one agent."""
        if frame.is_empty():
            return []
        return [self._alert(group) for group in frame.iter_rows(named=True) if self._walks(group)]

    def _walks(self, group: dict) -> bool:
        stretch = group["union_last"] - group["union_first"] + 1
        return (group["addresses"] >= self.min_addresses
                and group["pages_union"] >= self.min_total_pages
                and group["pages_union"] >= self.min_disjoint * group["pages_sum"]
                and group["pages_union"] >= self.min_contiguity * stretch
                and group["addresses_with_main_agent"] >= self.min_agent_share * group["addresses"])

    def _alert(self, group: dict) -> Alert:
        pages = group["pages_union"] / self.min_total_pages
        strength = (group["addresses"] / self.min_addresses) ** 0.5 * pages
        window_start, window_end = clock.day_window(group["day"])
        dataset_rows = group["dataset_rows"]
        members = sorted(group["members"], key=lambda m: m["first_page"])
        evidence = {
            "network": group["network"],
            "addresses": [m["client_ip"] for m in members],
            "members": members,
            "distinct_pages": group["pages_union"],
            "first_page": group["union_first"],
            "last_page": group["union_last"],
            "overlap_pages": group["pages_sum"] - group["pages_union"],
            "calls": group["total_calls"],
            "rows_taken": group["rows_total"],
            "dataset_row_count": dataset_rows,
            "dataset_coverage": round(group["rows_total"] / dataset_rows, 3) if dataset_rows else None,
            "user_agents": group["agents"],
            "first_seen": clock.iso(group["first_seen"]),
            "last_seen": clock.iso(group["last_seen"]),
            "thresholds": {"min_addresses": self.min_addresses, "min_total_pages": self.min_total_pages,
                           "min_disjoint": self.min_disjoint, "min_contiguity": self.min_contiguity,
                           "min_agent_share": self.min_agent_share, "ipv4_prefix": self.ipv4_prefix,
                           "ipv6_prefix": self.ipv6_prefix},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article,
            severity=features.severity_for(strength), score=round(strength, 3),
            message="alerts.distributed_scraping",
            params={"network": group["network"], "addresses": group["addresses"],
                    "pages": group["pages_union"], "rows": group["rows_total"]},
            window_start=window_start, window_end=window_end, evidence=evidence,
            client_ip=group["network"], dataset_id=group["dataset_id"],
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The walking addresses' calls per minute on the dataset, added up."""
        start, end = features.read_range(window)
        keys = [(ip, a.dataset_id, a.window_start.date()) for a in alerts for ip in a.evidence["addresses"]]
        series = features.minute_series(client, SERIES_KEY, SERIES_TYPES, keys, start, end,
                                        [a.dataset_id for a in alerts])
        for alert in alerts:
            minutes: dict[str, int] = defaultdict(int)
            for ip in alert.evidence["addresses"]:
                for minute, calls in series.get((ip, alert.dataset_id, alert.window_start.date()), []):
                    minutes[minute] += calls
            alert.evidence["per_minute"] = [[m, c] for m, c in sorted(minutes.items())]
        return super().explain(client, window, alerts)
