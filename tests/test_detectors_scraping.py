"""Scraping: long contiguous page walks far beyond the dataset's norm, by consumer or by anonymous
address; the score on hand-built frames, then the detector on the engine.
"""

from datetime import date, datetime

import polars as pl
from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.base import Window
from detectors.messages import alert_title
from detectors.scraping import ScrapingDetector
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)


# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

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


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

def logged_walk(consumer_id, client_ip, pages, dataset_id="d1", start_hour=13):
    return [event(at(DAY, start_hour + n // 120, (n // 2) % 60, n % 2 * 30), consumer_id, dataset_id,
                  client_ip=client_ip, rows=100, params={"page": page, "page_size": 100})
            for n, page in enumerate(pages)]


def _lawful_platform(client):
    add_datasets(client, [("d1", "a1", "conditional", 50_000), ("d2", "a2", "unconditional", 9_000)])
    insert(client, daytime_habit("heavy", DAY, 1, per_hour=60)            # heavy but lawful
           + daytime_habit("small1", DAY, 1, per_hour=3)
           + daytime_habit("small2", DAY, 1, per_hour=2, client_ip="10.2.2.2")
           + daytime_habit("", DAY, 1, per_hour=5, dataset_id="d2", client_ip="8.8.4.4"))  # anonymous


def test_consumer_walking_hundreds_of_pages_is_flagged_with_the_page_sequence(client):
    _lawful_platform(client)
    pages = [p for p in range(1, 301) if p not in (50, 51, 52)]
    insert(client, logged_walk("scraper", "10.9.9.9", pages))
    alerts = ScrapingDetector().run(client, whole_days(DAY, DAY))
    assert [(a.consumer_id, a.dataset_id, a.agency_id) for a in alerts] == [("scraper", "d1", "a1")]
    ev = alerts[0].evidence
    assert (ev["first_page"], ev["last_page"], ev["distinct_pages"]) == (1, 300, 297)
    assert ev["missing_pages"] == 3 and ev["gaps"] == [[50, 52]]
    assert ev["rows_taken"] == 29_700 and ev["dataset_coverage"] == 0.594
    assert ev["client_ips"] == ["10.9.9.9"] and alerts[0].client_ip == "10.9.9.9"
    assert sum(calls for _, calls in ev["per_minute"]) == 297
    assert ev["per_minute"][0] == ["2026-03-10 13:00", 2]
    assert alerts[0].window_start == at(DAY, 0)


def test_anonymous_offset_walk_is_flagged_by_ip(client):
    _lawful_platform(client)
    insert(client, [event(at(DAY, 2, n // 60, n % 60), "", "d2", client_ip="203.0.113.7", rows=50,
                          params={"offset": 50 * n, "limit": 50}) for n in range(150)])
    alerts = ScrapingDetector().run(client, whole_days(DAY, DAY))
    assert [(a.consumer_id, a.client_ip, a.dataset_id) for a in alerts] == [("", "203.0.113.7", "d2")]
    assert alerts[0].evidence["last_page"] == 150


def test_heavy_lawful_and_anonymous_downloads_stay_quiet_and_reruns_repeat_ids(client):
    _lawful_platform(client)
    insert(client, [event(at(DAY, 10, n % 60), "", "d2", client_ip="198.51.100.4", channel="download",
                          rows=9_000) for n in range(40)])
    assert ScrapingDetector().run(client, whole_days(DAY, DAY)) == []
    insert(client, logged_walk("scraper", "10.9.9.9", range(1, 201)))
    first = [a.alert_id for a in ScrapingDetector().run(client, whole_days(DAY, DAY))]
    hourly = [a.alert_id for a in ScrapingDetector().run(client, Window(at(DAY, 13), at(DAY, 15)))]
    assert len(first) == 1 and first == hourly
