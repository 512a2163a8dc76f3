"""Distributed scraping on the engine: a /24 (or /48) of rotating addresses walking one dataset."""

from datetime import date

from detect_patterns_support import add_datasets, at, event, insert, whole_days

from detectors.distributed import DistributedScrapingDetector
from detectors.scraping import ScrapingDetector

DAY = date(2026, 3, 10)


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
