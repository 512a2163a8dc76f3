"""The pattern detectors as a catalog: categories, parameters, an empty log."""

import dataclasses
from datetime import date

import pytest
from detect_patterns_support import whole_days

from detectors.malicious import MALICIOUS_DETECTORS
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
