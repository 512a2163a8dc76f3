"""Scraping's score on hand-built frames: long contiguous page walks far beyond the dataset's norm."""

from datetime import date, datetime

import polars as pl

from detectors.messages import alert_title
from detectors.scraping import ScrapingDetector
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


def walk(pages: list[int], rows_taken: int, norm: int = 100, *, consumer_id: str = "scraper") -> dict:
    return {"consumer_id": consumer_id, "anon_ip": "" if consumer_id else "203.0.113.5", "dataset_id": "d1",
            "day": DAY, "calls": len(pages), "pages": len(set(pages)), "page_list": sorted(set(pages)),
            "rows_taken": rows_taken, "page_size": 100, "ips": 1, "some_ips": ["203.0.113.5"],
            "first_seen": datetime(2026, 3, 10, 1, tzinfo=SHANGHAI),
            "last_seen": datetime(2026, 3, 10, 4, tzinfo=SHANGHAI),
            "dataset_median_rows": norm, "dataset_rows": 50_000}


def score(*walks: dict, **params) -> list:
    return ScrapingDetector(**params).score(pl.DataFrame(list(walks)))


def test_a_long_contiguous_walk_far_beyond_the_norm_is_scraping():
    [alert] = score(walk(list(range(1, 201)), 20_000))
    # Strength is the weaker of pages / 80 = 2.5 and (20000 / 100) / 5 = 40.
    assert alert.severity == "high" and alert.score == 2.5
    assert (alert.consumer_id, alert.client_ip, alert.dataset_id) == ("scraper", "203.0.113.5", "d1")
    assert (alert.window_start, alert.window_end) == day_window(DAY)
    evidence = alert.evidence
    assert (evidence["first_page"], evidence["last_page"], evidence["missing_pages"]) == (1, 200, 0)
    assert evidence["times_dataset_norm"] == 200.0 and evidence["dataset_coverage"] == 0.4
    assert evidence["longest_run"] == 200 and evidence["gaps"] == []


def test_short_gappy_or_ordinary_walks_stay_quiet():
    assert score(walk(list(range(1, 60)), 20_000)) == []              # 59 pages
    assert score(walk(list(range(1, 400, 3)), 20_000)) == []          # a third of the pages between
    assert score(walk(list(range(1, 201)), 400)) == []                # fewer rows than 5 × the norm


def test_gaps_are_reported_and_an_anonymous_walker_is_its_address():
    pages = [p for p in range(1, 121) if not 50 <= p <= 54]
    [alert] = score(walk(pages, 12_000, consumer_id=""))
    assert alert.evidence["gaps"] == [[50, 54]] and alert.evidence["missing_pages"] == 5
    assert (alert.consumer_id, alert.client_ip) == ("", "203.0.113.5")
    assert alert_title(alert.as_row(), "en").startswith("anonymous 203.0.113.5 walked pages 1–120 of d1")
