"""Distributed scraping's score on hand-built frames: addresses of one network sharing out a walk."""

from datetime import date, datetime

import polars as pl

from detectors.distributed import DistributedScrapingDetector
from detectors.messages import alert_title
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


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
