"""The eight agreement detectors on one small hand-built platform.

Each violation is planted on its own day and consumer, next to lawful traffic
that must stay quiet: a heavy-but-lawful user within quota, allowlisted CIDR
ranges, anonymous downloads of unconditional data, traffic before a suspension.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from detect_core_data import at, calls, fresh_database, insert

from detectors.agreement import AGREEMENT_DETECTORS, QuotaExceeded
from detectors.base import Window
from detectors.clock import SHANGHAI

MARCH = [date(2026, 3, d) for d in range(1, 15)]
WINDOW = Window(datetime(2026, 3, 1, tzinfo=SHANGHAI), datetime(2026, 3, 15, tzinfo=SHANGHAI))
ON_COND = {"consumer_id": "C_LAWFUL", "dataset_id": "D_COND"}
LAWFUL = {"scenario": "traffic_app", "fields": ["road", "speed"], "client_ip": "10.1.2.3"}


def build_platform(client) -> None:
    insert(client, "datasets", [
        {"dataset_id": "D_COND"},
        {"dataset_id": "D_OPEN", "open_class": "unconditional"},
        {"dataset_id": "D_SUSP"},
        {"dataset_id": "D_GONE", "open_class": "unconditional", "status": "open",
         "updated_at": datetime(2024, 1, 1, tzinfo=SHANGHAI)},
        {"dataset_id": "D_GONE", "open_class": "unconditional", "status": "withdrawn",
         "updated_at": datetime(2026, 3, 6, tzinfo=SHANGHAI)},
    ])
    terms = {"dataset_id": "D_COND", "scenarios": ["traffic_app"], "allowed_fields": ["road", "speed"],
             "ip_allowlist": ["10.1.0.0/16", "192.168.7.7", "not-an-ip"], "daily_call_quota": 100,
             "daily_row_quota": 100_000}
    insert(client, "agreements", [
        {"agreement_id": "G_LAWFUL", "consumer_id": "C_LAWFUL", **terms},
        {"agreement_id": "G_HEAVY", "consumer_id": "C_HEAVY", **terms, "daily_call_quota": 2000},
        {"agreement_id": "G_OLD", "consumer_id": "C_RENEWED", **terms,
         "valid_from": date(2025, 1, 1), "valid_to": date(2026, 3, 4)},
        {"agreement_id": "G_NEW", "consumer_id": "C_RENEWED", **terms,
         "valid_from": date(2026, 3, 5), "valid_to": date(2027, 3, 4)},
        {"agreement_id": "G_EXPIRED", "consumer_id": "C_EXPIRED", **terms,
         "valid_from": date(2025, 1, 1), "valid_to": date(2026, 3, 2)},
        {"agreement_id": "G_SUSP", "consumer_id": "C_LAWFUL", "dataset_id": "D_SUSP"},
    ])
    insert(client, "complaints", [
        {"complaint_id": "K1", "dataset_id": "D_SUSP", "suspended_at": at(MARCH[9], 12),
         "resolved_at": at(MARCH[11], 12), "outcome": "restored"},
    ])
    insert(client, "usage_reports", [
        {"report_id": "R_LATE", "agreement_id": "G_LAWFUL", "consumer_id": "C_LAWFUL", "dataset_id": "D_COND",
         "due_date": date(2026, 1, 31)},
        {"report_id": "R_FILED_LATE", "agreement_id": "G_HEAVY", "consumer_id": "C_HEAVY",
         "dataset_id": "D_COND", "due_date": date(2026, 2, 10), "filed_at": at(date(2026, 2, 20))},
        {"report_id": "R_ON_TIME", "agreement_id": "G_RENEWED", "consumer_id": "C_RENEWED",
         "dataset_id": "D_COND", "due_date": date(2026, 2, 10), "filed_at": at(date(2026, 2, 9))},
        {"report_id": "R_NOT_DUE", "agreement_id": "G_LAWFUL", "consumer_id": "C_LAWFUL",
         "dataset_id": "D_COND", "due_date": date(2026, 4, 30)},
    ])
    log = []
    for day in MARCH:
        # Lawful background every day: within quota, fields, scenario and allowlist.
        log += calls(day, 20, consumer_id="C_LAWFUL", key_id="K_LAWFUL", dataset_id="D_COND", **LAWFUL)
        log += calls(day, 5, **ON_COND, **{**LAWFUL, "client_ip": "192.168.7.7"})
        # Heavy but lawful: 15x the others, still under its own quota.
        log += calls(day, 300, consumer_id="C_HEAVY", dataset_id="D_COND", spacing=timedelta(seconds=20),
                     **{**LAWFUL, "client_ip": "10.1.99.4"})
        # Anonymous downloads of unconditional data, and an anonymous refused call on conditional data.
        log += calls(day, 40, dataset_id="D_OPEN", channel="download", client_ip="198.51.100.7", rows=5000)
        log += calls(day, 1, dataset_id="D_COND", client_ip="198.51.100.8", status=401)
        # A renewal: two agreements back to back, so every day is covered.
        log += calls(day, 3, consumer_id="C_RENEWED", dataset_id="D_COND", **LAWFUL)
    # Lawful use of D_SUSP before the suspension; anonymous use of D_GONE before its withdrawal.
    log += calls(MARCH[8], 5, consumer_id="C_LAWFUL", dataset_id="D_SUSP", **LAWFUL)
    log += calls(MARCH[4], 5, dataset_id="D_GONE", client_ip="198.51.100.9")
    # The planted violations.
    log += calls(MARCH[1], 4, consumer_id="C_NOAGR", dataset_id="D_COND", **LAWFUL)
    log += calls(MARCH[2], 1, dataset_id="D_COND", client_ip="203.0.113.50")          # anonymous, got data
    log += calls(MARCH[3], 2, consumer_id="C_EXPIRED", dataset_id="D_COND", **LAWFUL)  # expired 03-02
    log += calls(MARCH[4], 2, **ON_COND, **{**LAWFUL, "fields": ["road", "id_card"]})
    log += calls(MARCH[5], 3, **ON_COND, **{**LAWFUL, "scenario": "resale"})
    log += calls(MARCH[6], 90, consumer_id="C_LAWFUL", dataset_id="D_COND", **LAWFUL)  # 115 > 100
    log += calls(MARCH[7], 2, **ON_COND, **{**LAWFUL, "client_ip": "203.0.113.9"})
    log += calls(MARCH[10], 4, consumer_id="C_LAWFUL", dataset_id="D_SUSP", **LAWFUL)
    log += calls(MARCH[7], 3, dataset_id="D_GONE", client_ip="198.51.100.9")
    insert(client, "access_log", log)


@pytest.fixture(scope="module")
def found():
    _, client = fresh_database()
    build_platform(client)
    alerts = [a for cls in AGREEMENT_DETECTORS for a in cls().run(client, WINDOW.widened(cls.lookback))]
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
    assert evidence["relation"] == "after the agreement expired" and evidence["days_outside"] == 2


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
    again = QuotaExceeded().run(client, Window(at(MARCH[6], 15), WINDOW.end))
    assert [a.alert_id for a in again] == [found[("quota_exceeded", "C_LAWFUL", "D_COND", MARCH[6])].alert_id]


def test_parameters_come_from_settings(found):
    assert QuotaExceeded.from_config({"include_refused": True, "unknown": 1}).include_refused is True
