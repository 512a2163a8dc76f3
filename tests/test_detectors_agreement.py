"""The eight agreement rules (第三十一条): each rule's score on hand-built frames, fires when the row
breaks it and is quiet when not; then the detectors on one small hand-built platform, where each
violation is planted on its own day and consumer next to lawful traffic that must stay quiet: a
heavy-but-lawful user within quota, allowlisted CIDR ranges, anonymous downloads of unconditional
data, traffic before a suspension.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from agreement_platform import MARCH, WINDOW, at, build_platform
from conftest import fresh_database

from detectors.agreement import RULES, AgreementDetector, agreement_detectors
from detectors.base import Window
from detectors.messages import alert_title
from odwatch.clock import SHANGHAI, day_window

# ---- Each rule's score on hand-built frames (no engine) ----------------------------------------------------

DAY = date(2026, 3, 6)


def day_row(**columns) -> dict:
    """A consumer's day on a dataset; each test adds the columns its rule reads."""
    return {"consumer_id": "C1", "dataset_id": "D1", "day": DAY, "calls": 5, "rows_returned": 50, **columns}


def score(rule: str, *rows: dict, **params) -> list:
    return AgreementDetector(rule, **params).score(pl.DataFrame(list(rows)))


def test_the_table_holds_the_eight_rules_each_its_own_detector():
    detectors = agreement_detectors()
    assert [d.id for d in detectors] == [f"agreement.{name}" for name in RULES]
    assert all(d.category == d.rule.name and d.family == "agreement" for d in detectors)
    assert {d.id: d.article for d in detectors}["agreement.scenario_mismatch"] == "第三十一条(四)"
    assert all(AgreementDetector(name).score(pl.DataFrame()) == [] for name in RULES)


def test_no_agreement_fires_for_any_call_and_grades_by_calls():
    [alert] = score("no_agreement", day_row(ip="", calls=25))
    assert (alert.consumer_id, alert.dataset_id, alert.category) == ("C1", "D1", "no_agreement")
    assert (alert.window_start, alert.window_end) == day_window(DAY)
    assert alert.severity == "high" and alert.score == 25.0
    assert alert.evidence == {"calls": 25, "rows_returned": 50}
    [anonymous] = score("no_agreement", day_row(consumer_id="", ip="203.0.113.50", calls=3))
    assert anonymous.client_ip == "203.0.113.50" and anonymous.severity == "medium"
    assert alert_title(anonymous.as_row(), "en").startswith(
        "anonymous 203.0.113.50 obtained conditional dataset D1")
    assert alert_title(anonymous.as_row(), "zh") == (
        "匿名地址 203.0.113.50未签订数据利用协议即获取有条件开放数据「D1」（3 次调用）")
    assert score("no_agreement", day_row(ip="", calls=0)) == []


def validity(froms: list[date], tos: list[date]) -> dict:
    return {"agreement_ids": [f"AG{n}" for n in range(len(froms))], "froms": froms, "tos": tos}


def test_outside_validity_fires_on_a_day_no_agreement_covers():
    [alert] = score("outside_validity", day_row(**validity([date(2026, 1, 1)], [date(2026, 3, 4)])))
    assert alert.evidence["relation"] == "after_expiry" and alert.evidence["days_outside"] == 2
    assert alert.severity == "medium" and alert.score == 5.0
    assert alert.evidence["agreements"] == [{"agreement_id": "AG0", "valid_from": "2026-01-01",
                                             "valid_to": "2026-03-04"}]
    [early] = score("outside_validity", day_row(**validity([date(2026, 4, 5)], [date(2026, 12, 31)])))
    assert early.evidence["relation"] == "before_start" and early.severity == "critical"
    # The renewal covers the day.
    renewed = validity([date(2026, 1, 1), date(2026, 3, 5)], [date(2026, 3, 4), date(2026, 12, 31)])
    assert score("outside_validity", day_row(**renewed)) == []


def test_fields_outside_the_agreement_are_named_and_counted():
    row = day_row(outside_fields=[{"name": "id_card", "calls": 2}, {"name": "phone", "calls": 3}],
                  allowed=["speed", "road"])
    [alert] = score("fields_outside_agreement", row)
    assert alert.evidence["fields_outside_agreement"] == {"phone": 3, "id_card": 2}
    assert alert.evidence["allowed_fields"] == ["road", "speed"]
    assert alert.severity == "high" and alert.score == 3.0          # two fields; 3 calls at most
    assert score("fields_outside_agreement", day_row(outside_fields=[], allowed=["road"])) == []


def test_scenario_mismatch_names_the_scenarios_declared():
    used = [{"name": "resale", "calls": 3}]
    [alert] = score("scenario_mismatch", day_row(calls=3, scenarios_used=used, allowed=["traffic_app"]))
    assert alert.evidence["scenarios_declared"] == {"resale": 3}
    assert alert.evidence["scenarios_agreed"] == ["traffic_app"]
    assert alert.severity == "medium" and alert.score == 3.0
    assert score("scenario_mismatch", day_row(scenarios_used=[], allowed=["traffic_app"])) == []


def quota_row(calls: int, rows: int, call_quotas: list[int], row_quotas: list[int]) -> dict:
    terms = validity([date(2026, 1, 1)] * len(call_quotas), [date(2026, 12, 31)] * len(call_quotas))
    return day_row(calls=calls, rows_returned=rows, call_quotas=call_quotas, row_quotas=row_quotas, **terms)


def test_quota_exceeded_above_the_daily_quota_graded_by_how_far():
    [alert] = score("quota_exceeded", quota_row(115, 500, [100], [0]))
    assert alert.score == pytest.approx(1.15) and alert.severity == "medium"
    assert alert.evidence["times_quota"] == {"calls": 1.15}
    assert (alert.evidence["daily_call_quota"], alert.evidence["daily_row_quota"]) == (100, 0)
    [rows] = score("quota_exceeded", quota_row(10, 5000, [100], [1000]))
    assert rows.severity == "critical"
    assert alert_title(rows.as_row(), "en").endswith("exceeded the daily rows quota on D1 (5.0x)")


def test_quota_exceeded_quiet_at_the_quota_and_when_a_valid_agreement_sets_none():
    assert score("quota_exceeded", quota_row(100, 500, [100], [0])) == []
    # The most generous agreement valid that day counts: 0 lifts the limit.
    assert score("quota_exceeded", quota_row(115, 500, [100, 0], [0, 0])) == []
    assert score("quota_exceeded", quota_row(115, 500, [100, 200], [0, 0])) == []


def test_ip_outside_allowlist_counts_networks():
    outside = [{"name": "203.0.113.9", "calls": 2}, {"name": "198.51.100.4", "calls": 1}]
    [alert] = score("ip_outside_allowlist", day_row(calls=3, outside_ips=outside, allowlist=["10.0.0.0/8"]))
    assert alert.evidence["ips_outside_allowlist"] == {"203.0.113.9": 2, "198.51.100.4": 1}
    assert alert.evidence["networks"] == ["198.51.100.0/24", "203.0.113.0/24"]
    assert alert.evidence["allowlist"] == ["10.0.0.0/8"]
    assert alert.severity == "high" and alert.score == 3.0
    assert score("ip_outside_allowlist", day_row(outside_ips=[], allowlist=["10.0.0.0/8"])) == []


def test_suspended_dataset_names_the_suspension():
    [alert] = score("suspended_dataset", day_row(ip="", calls=12, sources=["complaint K1"]))
    assert alert.evidence["suspensions"] == ["complaint K1"] and alert.evidence["rows_returned"] == 50
    assert alert.severity == "high" and alert.score == 12.0
    assert score("suspended_dataset", day_row(ip="", sources=[])) == []


def report(due: date, filed: datetime | None, as_of: datetime) -> dict:
    return {"report_id": "R1", "agreement_id": "AG1", "consumer_id": "C1", "dataset_id": "D1",
            "period_start": date(2025, 10, 1), "period_end": date(2025, 12, 31), "due_date": due,
            "filed_at": filed, "calls_reported": 100, "as_of": as_of}


AS_OF = datetime(2026, 3, 15, 12, tzinfo=SHANGHAI)


def test_report_overdue_unfiled_or_filed_late_on_its_due_date():
    [unfiled] = score("report_overdue", report(date(2026, 1, 31), None, AS_OF))
    assert (unfiled.window_start, unfiled.window_end) == day_window(date(2026, 1, 31))
    assert unfiled.evidence["days_overdue"] == 43 and unfiled.score == 43.0 and unfiled.severity == "high"
    assert unfiled.evidence["filed_at"] is None and unfiled.evidence["as_of"] == AS_OF.isoformat()
    filed = datetime(2026, 2, 20, 9, tzinfo=SHANGHAI)
    [late] = score("report_overdue", report(date(2026, 2, 10), filed, AS_OF))
    assert late.evidence["days_overdue"] == 10 and late.severity == "medium"
    assert "filed 10 day(s) late" in alert_title(late.as_row(), "en")
    # Filed after the moment judged at: still unfiled then.
    [later] = score("report_overdue", report(date(2026, 3, 1), datetime(2026, 3, 20, tzinfo=SHANGHAI), AS_OF))
    assert later.evidence["filed_at"] is None and later.evidence["days_overdue"] == 14


def test_report_on_time_not_yet_due_or_within_the_grace_stays_quiet():
    on_time = report(date(2026, 2, 10), datetime(2026, 2, 10, 18, tzinfo=SHANGHAI), AS_OF)
    assert score("report_overdue", on_time) == []
    assert score("report_overdue", report(date(2026, 3, 15), None, AS_OF)) == []
    assert score("report_overdue", report(date(2026, 3, 10), None, AS_OF), grace_days=5) == []
    assert len(score("report_overdue", report(date(2026, 3, 9), None, AS_OF), grace_days=5)) == 1


# ---- The detectors on the hand-built March platform (tests/agreement_platform.py) --------------------------

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
