"""Distributed scraping: the addresses of one network (a /24, or a /48) sharing out a walk over one
dataset; the score on hand-built frames, then the detector on the engine.
"""

from datetime import date, datetime

import polars as pl
import pytest
from detect_patterns_support import add_datasets, at, event, insert, whole_days

from detectors.distributed import DistributedScrapingDetector
from detectors.messages import alert_title
from detectors.scraping import ScrapingDetector
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

def network_walk(addresses: int, pages_each: int, *, overlap: int = 0, agents_alike: int | None = None,
                 gap: int = 0) -> dict:
    """`addresses` addresses of 203.0.113.0/24 each reading `pages_each` consecutive pages, the slices
    overlapping by `overlap` pages or `gap` pages apart."""
    step = pages_each - overlap + gap
    members = [{"client_ip": f"203.0.113.{n + 1}", "calls": pages_each, "pages": pages_each,
                "first_page": 1 + n * step, "last_page": n * step + pages_each, "rows": pages_each * 100}
               for n in range(addresses)]
    union = {p for m in members for p in range(m["first_page"], m["last_page"] + 1)}
    return {"network": "203.0.113.0/24", "dataset_id": "d1", "day": DAY, "addresses": addresses,
            "members": members, "pages_sum": addresses * pages_each, "pages_union": len(union),
            "union_first": min(union), "union_last": max(union), "rows_total": addresses * pages_each * 100,
            "total_calls": addresses * pages_each, "main_agent": "python-requests/2.31",
            "addresses_with_main_agent": addresses if agents_alike is None else agents_alike,
            "agents": ["python-requests/2.31"], "first_seen": datetime(2026, 3, 10, 1, tzinfo=SHANGHAI),
            "last_seen": datetime(2026, 3, 10, 5, tzinfo=SHANGHAI), "dataset_rows": 100_000}


def score(*rows: dict, **params) -> list:
    return DistributedScrapingDetector(**params).score(pl.DataFrame(list(rows)))


def test_sixteen_addresses_paging_disjoint_slices_are_one_alert_listing_them():
    [alert] = score(network_walk(16, 20))
    assert (alert.client_ip, alert.dataset_id, alert.consumer_id) == ("203.0.113.0/24", "d1", "")
    assert (alert.window_start, alert.window_end) == day_window(DAY)
    evidence = alert.evidence
    assert evidence["addresses"][:2] == ["203.0.113.1", "203.0.113.2"] and len(evidence["addresses"]) == 16
    assert evidence["distinct_pages"] == 320 and evidence["overlap_pages"] == 0
    assert evidence["dataset_coverage"] == 0.32
    # Strength: sqrt(16 / 4) × 320 / 60.
    assert alert.severity == "critical" and alert.score == round(2 * 320 / 60, 3)
    assert alert_title(alert.as_row(), "en") == (
        "16 addresses of 203.0.113.0/24 shared out 320 pages of d1 (32,000 rows)")
    web_log = {**alert.as_row(), "dataset_id": ""}         # a web server's log names no dataset
    assert alert_title(web_log, "zh") == (
        "网段 203.0.113.0/24 内 16 个地址分工翻取数据集「未标识」共 320 页（32,000 行）")
    assert "shared out 320 pages of an unidentified dataset" in alert_title(web_log, "en")


def test_overlapping_reads_a_few_addresses_short_walks_or_gaps_stay_quiet():
    assert score(network_walk(6, 20, overlap=15)) == []     # everyone reads the same pages
    assert score(network_walk(3, 40)) == []                 # three addresses: not a network at work
    assert score(network_walk(8, 5)) == []                  # 40 pages together: short
    assert score(network_walk(8, 10, gap=10)) == []         # half the stretch missing: not one walk


def test_mixed_user_agents_are_not_one_harvester():
    assert score(network_walk(10, 20, agents_alike=5)) == []
    assert score(network_walk(10, 20, agents_alike=9)) != []


def test_the_network_prefix_is_a_parameter():
    detector = DistributedScrapingDetector(ipv4_prefix=20, ipv6_prefix=56)
    assert detector.get_params()["ipv4_prefix"] == 20 and detector.ipv6_prefix == 56
    assert DistributedScrapingDetector().score(pl.DataFrame()) == []


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

def test_sixteen_addresses_of_one_24_each_paging_a_disjoint_slice_are_one_alert(client):
    add_datasets(client, [("d1", "a1", "unconditional", 80_000)])
    walk = [event(at(DAY, 1 + n // 60, n % 60), "", "d1", client_ip=f"203.0.113.{10 + n // 25}", rows=100,
                  params={"page": n + 1, "page_size": 100}, user_agent="Mozilla/5.0 harvester")
            for n in range(16 * 25)]
    insert(client, walk)
    # Each address alone reads 25 pages: the per-address detector sees nothing.
    assert ScrapingDetector().run(client, whole_days(DAY, DAY)) == []
    [alert] = DistributedScrapingDetector().run(client, whole_days(DAY, DAY))
    assert (alert.client_ip, alert.dataset_id, alert.agency_id) == ("203.0.113.0/24", "d1", "a1")
    assert alert.evidence["addresses"] == [f"203.0.113.{10 + k}" for k in range(16)]
    assert alert.evidence["distinct_pages"] == 400 and alert.evidence["overlap_pages"] == 0
    assert sum(c for _, c in alert.evidence["per_minute"]) == 400
    assert DistributedScrapingDetector().run(client, whole_days(DAY, DAY))[0].alert_id == alert.alert_id


@pytest.mark.parametrize("paging", [
    lambda n: {"start": str(100 * n), "rows": "100"},              # CKAN and Solr, as a web log's query text
    lambda n: {"pageNum": n + 1, "pageSize": 100},                 # a gateway's own names
    lambda n: {"offset": 100 * n, "limit": 100},
])
def test_the_names_paging_goes_by_on_real_platforms_are_read_as_pages(client, paging):
    add_datasets(client, [("d1", "a1", "unconditional", 80_000)])
    insert(client, [event(at(DAY, 1 + n // 60, n % 60), "", "d1", client_ip=f"203.0.113.{10 + n // 25}",
                          rows=100, params=paging(n), user_agent="Mozilla/5.0 harvester")
                    for n in range(16 * 25)])
    [alert] = DistributedScrapingDetector().run(client, whole_days(DAY, DAY))
    assert alert.evidence["distinct_pages"] == 400 and len(alert.evidence["addresses"]) == 16


def test_an_ipv6_48_walks_together_too(client):
    add_datasets(client, [("d1", "a1", "unconditional", 80_000)])
    insert(client, [event(at(DAY, 2, n % 60, n // 60), "", "d1", client_ip=f"2001:db8:7:{n // 20:x}::1",
                          params={"page": n + 1, "page_size": 100}) for n in range(120)])
    [alert] = DistributedScrapingDetector().run(client, whole_days(DAY, DAY))
    assert alert.client_ip == "2001:db8:7::/48" and len(alert.evidence["addresses"]) == 6


def test_neighbours_crawlers_and_shared_egress_stay_quiet(client):
    add_datasets(client, [(f"d{k}", "a1", "unconditional", 10_000) for k in range(40)])
    # Twenty broadband neighbours of one /24 reading the first pages of the same dataset.
    insert(client, [event(at(DAY, 9 + n % 8, n % 60), "", "d1", client_ip=f"198.51.100.{n % 20 + 1}",
                          params={"page": n % 3 + 1, "page_size": 20}) for n in range(200)])
    # A search engine's crawlers: eight addresses of one /24, one agent, two pages of each of 40 datasets.
    insert(client, [event(at(DAY, 3, n // 10, n % 10), "", f"d{n % 40}", client_ip=f"66.249.66.{n % 8 + 1}",
                          user_agent="Mozilla/5.0 (compatible; Googlebot/2.1)",
                          params={"page": n // 40 % 2 + 1, "page_size": 50}) for n in range(80)])
    # Colleagues behind one corporate egress address walking deep pages: one address, not a network.
    insert(client, [event(at(DAY, 10, n % 60, n // 60), "", "d2", client_ip="192.0.2.1",
                          params={"page": n + 1, "page_size": 50}) for n in range(150)])
    assert DistributedScrapingDetector().run(client, whole_days(DAY, DAY)) == []
