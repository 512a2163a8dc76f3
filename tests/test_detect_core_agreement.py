"""The eight agreement detectors on one small hand-built platform.

Each violation is planted on its own day and consumer, next to lawful traffic
that must stay quiet: a heavy-but-lawful user within quota, allowlisted CIDR
ranges, anonymous downloads of unconditional data, traffic before a suspension.
"""

from __future__ import annotations

from datetime import date

import pytest
from agreement_platform import MARCH, WINDOW, at, build_platform, fresh_database

from detectors.agreement import AgreementDetector, agreement_detectors
from detectors.base import Window


@pytest.fixture(scope="module")
def found():
    _, client = fresh_database()
    build_platform(client)
    alerts = [a for d in agreement_detectors() for a in d.run(client, WINDOW.widened(d.lookback))]
    return {(a.category, a.consumer_id or a.client_ip, a.dataset_id, a.window_start.date()): a
            for a in alerts}


def of(found, category):
    return {key[1:] for key in found if key[0] == category}


def test_no_agreement_fires_for_consumers_and_anonymous_ips_but_not_refused_calls(found):
    assert of(found, "no_agreement") == {
        ("C_NOAGR", "D_COND", MARCH[1]), ("203.0.113.50", "D_COND", MARCH[2])}
    alert = found[("no_agreement", "C_NOAGR", "D_COND", MARCH[1])]
    assert alert.evidence["calls"] == 4 and alert.evidence["calls_by_hour"] == {"09": 4}


def test_outside_validity_fires_after_expiry_and_renewals_stay_quiet(found):
    assert of(found, "outside_validity") == {("C_EXPIRED", "D_COND", MARCH[3])}
    evidence = found[("outside_validity", "C_EXPIRED", "D_COND", MARCH[3])].evidence
    assert evidence["relation"] == "after_expiry" and evidence["days_outside"] == 2


def test_fields_outside_agreement_names_the_fields(found):
    assert of(found, "fields_outside_agreement") == {("C_LAWFUL", "D_COND", MARCH[4])}
    evidence = found[("fields_outside_agreement", "C_LAWFUL", "D_COND", MARCH[4])].evidence
    assert evidence["fields_outside_agreement"] == {"id_card": 2}
    assert evidence["allowed_fields"] == ["road", "speed"]


def test_scenario_mismatch(found):
    assert of(found, "scenario_mismatch") == {("C_LAWFUL", "D_COND", MARCH[5])}
    evidence = found[("scenario_mismatch", "C_LAWFUL", "D_COND", MARCH[5])].evidence
    assert evidence["scenarios_declared"] == {"resale": 3} and evidence["scenarios_agreed"] == ["traffic_app"]


def test_quota_exceeded_spares_the_heavy_lawful_user(found):
    assert of(found, "quota_exceeded") == {("C_LAWFUL", "D_COND", MARCH[6])}
    alert = found[("quota_exceeded", "C_LAWFUL", "D_COND", MARCH[6])]
    assert alert.evidence["calls"] == 115 and alert.evidence["daily_call_quota"] == 100
    assert alert.score == pytest.approx(1.15)


def test_ip_outside_allowlist_understands_cidr_and_single_addresses(found):
    assert of(found, "ip_outside_allowlist") == {("C_LAWFUL", "D_COND", MARCH[7])}
    evidence = found[("ip_outside_allowlist", "C_LAWFUL", "D_COND", MARCH[7])].evidence
    assert evidence["ips_outside_allowlist"] == {"203.0.113.9": 2}
    assert evidence["networks"] == ["203.0.113.0/24"]


def test_suspended_dataset_by_complaint_and_by_catalog_status(found):
    assert of(found, "suspended_dataset") == {
        ("C_LAWFUL", "D_SUSP", MARCH[10]), ("198.51.100.9", "D_GONE", MARCH[7])}
    alert = found[("suspended_dataset", "C_LAWFUL", "D_SUSP", MARCH[10])]
    assert alert.evidence["suspensions"] == ["complaint K1"]


def test_report_overdue_unfiled_and_filed_late_but_not_on_time_or_not_yet_due(found):
    reports = {(key[1], key[3]): found[key] for key in found if key[0] == "report_overdue"}
    assert set(reports) == {("C_LAWFUL", date(2026, 1, 31)), ("C_HEAVY", date(2026, 2, 10))}
    assert reports[("C_HEAVY", date(2026, 2, 10))].evidence["days_overdue"] == 10
    assert reports[("C_LAWFUL", date(2026, 1, 31))].evidence["days_overdue"] == 43


def test_alerts_are_deterministic_and_day_aligned(found):
    _, client = fresh_database()
    build_platform(client)
    again = AgreementDetector("quota_exceeded").run(client, Window(at(MARCH[6], 15), WINDOW.end))
    assert [a.alert_id for a in again] == [found[("quota_exceeded", "C_LAWFUL", "D_COND", MARCH[6])].alert_id]


def test_parameters_come_from_settings(found):
    assert AgreementDetector("quota_exceeded").with_params(include_refused=True).include_refused is True
