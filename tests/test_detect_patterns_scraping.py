"""Scraping: sequential page walks, by consumer and by anonymous IP."""

from datetime import date

from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.base import Window
from detectors.scraping import ScrapingDetector

DAY = date(2026, 3, 10)


def _walk(consumer_id, client_ip, pages, dataset_id="d1", start_hour=13):
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
    insert(client, _walk("scraper", "10.9.9.9", pages))
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
    insert(client, _walk("scraper", "10.9.9.9", range(1, 201)))
    first = [a.alert_id for a in ScrapingDetector().run(client, whole_days(DAY, DAY))]
    hourly = [a.alert_id for a in ScrapingDetector().run(client, Window(at(DAY, 13), at(DAY, 15)))]
    assert len(first) == 1 and first == hourly
