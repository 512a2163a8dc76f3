"""The detector interface: parameters in the constructor, unknown ones refused, deterministic alert ids."""

from datetime import date

import pytest

from detectors.agreement import AgreementDetector
from detectors.base import Alert
from detectors.burst import BurstDetector
from detectors.malicious import MALICIOUS_DETECTORS
from odwatch.clock import day_window
from odwatch.errors import UserError


def test_an_unknown_parameter_names_the_key_the_detector_and_its_parameters():
    with pytest.raises(UserError) as refused:
        BurstDetector(ratoi=10)
    message = str(refused.value)
    assert "'ratoi'" in message and "'burst'" in message
    assert "ratio, mad_k, min_calls, min_prior_days" in message


def test_every_pattern_detector_refuses_unknown_parameters_and_keeps_its_defaults():
    for cls in MALICIOUS_DETECTORS:
        with pytest.raises(UserError, match=cls.id):
            cls(no_such_knob=1)
        assert cls().get_params() == cls(**cls().get_params()).get_params()


def test_with_params_gives_a_new_detector_and_leaves_the_old_one():
    default = BurstDetector()
    tuned = default.with_params(ratio=12.0)
    assert (tuned.ratio, default.ratio) == (12.0, 8.0)
    assert tuned.get_params() == {"ratio": 12.0, "mad_k": 6.0, "min_calls": 40, "min_prior_days": 3,
                                  "peer_ratio": 6.0, "min_peer_days": 10, "cold_limit": 300,
                                  "min_own_hours": 6}
    with pytest.raises(UserError, match="'mad'"):
        default.with_params(mad=2)


def test_agreement_rules_have_their_own_parameters():
    quota = AgreementDetector("quota_exceeded")
    assert quota.id == "agreement.quota_exceeded" and quota.get_params() == {"include_refused": False}
    assert AgreementDetector("report_overdue", grace_days=5).grace_days == 5
    with pytest.raises(UserError) as refused:
        AgreementDetector("quota_exceeded", grace_days=5)
    assert "'grace_days'" in str(refused.value) and "agreement.quota_exceeded" in str(refused.value)
    assert "include_refused" in str(refused.value)
    with pytest.raises(UserError, match="no agreement rule 'quota'.*quota_exceeded"):
        AgreementDetector("quota")


def test_alert_ids_hash_detector_entity_dataset_and_window_only():
    start, end = day_window(date(2026, 3, 10))

    def alert(**changes) -> Alert:
        fields = {"detector_id": "burst", "category": "burst", "article": "第三十条", "severity": "low",
                  "score": 1.0, "message": "alerts.burst", "window_start": start, "window_end": end,
                  "consumer_id": "c1"}
        return Alert(**{**fields, **changes})

    assert alert().alert_id == alert(score=9.0, message="alerts.probing", evidence={"calls": 3}).alert_id
    assert alert().alert_id != alert(dataset_id="d1").alert_id
    assert alert().alert_id != alert(window_end=day_window(date(2026, 3, 11))[1]).alert_id
