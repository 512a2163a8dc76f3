"""The malicious-pattern detectors (detectors/malicious.py): as a catalog (one per category,
parameters, quiet on an empty log), and all together, as `odwatch detect` runs them, on an independent
log written from issue #14's description (tests/independent_log.py): who raises what.

The detectors one by one: test_detectors_<detector>.py."""

import dataclasses
from datetime import date

import pytest
from detect_patterns_support import whole_days
from independent_log import DAYS, write_platform

from detectors.malicious import MALICIOUS_DETECTORS
from detectors.runner import run_detectors
from detectors.scraping import ScrapingDetector
from odwatch.errors import UserError
from odwatch.vocabulary import MALICIOUS_CATEGORIES


def test_one_detector_per_malicious_category_with_distinct_ids():
    assert sorted(cls.category for cls in MALICIOUS_DETECTORS) == sorted(MALICIOUS_CATEGORIES)
    assert len({cls.id for cls in MALICIOUS_DETECTORS}) == len(MALICIOUS_CATEGORIES) == 11
    assert all(cls.article == "第三十条" and cls.family == "malicious" for cls in MALICIOUS_DETECTORS)


def test_parameters_come_from_config_and_unknown_keys_are_refused():
    detector = ScrapingDetector().with_params(min_pages=150)
    assert detector.min_pages == 150 and detector.get_params()["coverage_factor"] == 5.0
    with pytest.raises(UserError, match="no_such_knob"):
        ScrapingDetector().with_params(no_such_knob=1)
    for cls in MALICIOUS_DETECTORS:
        assert all(f.default is not dataclasses.MISSING for f in dataclasses.fields(cls))


def test_every_detector_is_quiet_on_an_empty_log(client):
    for cls in MALICIOUS_DETECTORS:
        window = whole_days(date(2026, 3, 1), date(2026, 3, 7), cls.lookback)
        assert cls().run(client, window) == [], cls.id


# ---- All together on the independent log -------------------------------------------------------------------

@pytest.fixture
def judged(client, settings):
    log = write_platform(client)
    summary = run_detectors(client, settings, until=log.at(DAYS, 0))
    assert summary.errors == {}
    rows = client.query("SELECT category, consumer_id, client_ip FROM alerts FINAL").result_rows
    return {(category, consumer or ip) for category, consumer, ip in rows}


def test_the_attackers_of_the_issue_are_found(judged):
    assert ("distributed_scraping", "203.0.113.0/24") in judged
    assert ("burst", "burster") in judged
    assert ("scraping", "198.51.100.77") in judged
    assert {("scanning", f"185.100.87.{n}") for n in (1, 2, 3)} <= judged
    assert ("injection", "91.200.12.4") in judged


def test_the_look_alikes_and_the_lawful_raise_nothing(judged):
    attackers = {"203.0.113.0/24", "burster", "198.51.100.77", "91.200.12.4",
                 *(f"185.100.87.{n}" for n in (1, 2, 3))}
    assert {entity for _, entity in judged} - attackers == set()
