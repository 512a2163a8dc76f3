"""The registry: every detector configured from `[detectors.<id>]`, typos refused."""

import pytest

from detectors.malicious import MALICIOUS_DETECTORS
from detectors.registry import all_detectors, describe, detector_ids, get_detector
from odwatch.errors import UserError


def configured(settings, detectors: dict):
    return settings.model_copy(update={"detectors": detectors})


def test_the_eight_agreement_ids_are_kept():
    assert [i for i in detector_ids() if i.startswith("agreement.")] == [
        "agreement.no_agreement", "agreement.outside_validity", "agreement.fields_outside_agreement",
        "agreement.scenario_mismatch", "agreement.quota_exceeded", "agreement.ip_outside_allowlist",
        "agreement.suspended_dataset", "agreement.report_overdue"]


def test_parameters_and_enabled_come_from_the_config(settings):
    tuned = configured(settings, {"burst": {"ratio": 10, "enabled": True},
                                  "agreement.quota_exceeded": {"include_refused": True},
                                  "probing": {"enabled": False}})
    by_id = {d.id: d for d in all_detectors(tuned)}
    assert by_id["burst"].ratio == 10 and by_id["agreement.quota_exceeded"].include_refused is True
    assert "probing" not in by_id
    assert get_detector(tuned, "burst").ratio == 10


def test_an_unknown_key_in_a_detector_table_is_an_error_naming_it(settings):
    typo = configured(settings, {"burst": {"ratoi": 10}})
    for read in (all_detectors, describe):
        with pytest.raises(UserError) as refused:
            read(typo)
        message = str(refused.value)
        assert "[detectors.\"burst\"]" in message and "'ratoi'" in message
        assert "ratio, mad_k, min_calls, min_prior_days" in message and "enabled" in message


def test_a_parameter_of_another_rule_is_unknown_too(settings):
    with pytest.raises(UserError, match="agreement.quota_exceeded.*'grace_days'"):
        all_detectors(configured(settings, {"agreement.quota_exceeded": {"grace_days": 3}}))


def test_an_unknown_detector_table_is_an_error_naming_the_known_ids(settings):
    with pytest.raises(UserError) as refused:
        all_detectors(configured(settings, {"brust": {"ratio": 10}}))
    message = str(refused.value)
    assert "'brust'" in message and "burst" in message and "agreement.report_overdue" in message
    with pytest.raises(UserError, match="no detector 'nope'"):
        get_detector(settings, "nope")


def test_registry_lists_every_detector_with_settings_applied(settings):
    ids = [d.id for d in all_detectors(settings)]
    assert len(ids) == len(MALICIOUS_DETECTORS) + 8 and len(set(ids)) == len(ids)
    tuned = settings.model_copy(update={"detectors": {
        "agreement.report_overdue": {"grace_days": 5},
        "agreement.no_agreement": {"enabled": False}}})
    by_id = {d.id: d for d in all_detectors(tuned)}
    assert by_id["agreement.report_overdue"].grace_days == 5
    assert "agreement.no_agreement" not in by_id
    rows = {r["id"]: r for r in describe(tuned)}
    assert rows["agreement.no_agreement"]["enabled"] is False
    assert rows["agreement.report_overdue"]["params"] == {"grace_days": 5}
