"""Applications and agreements (reports/applications.py): agreements about to expire and usage reports
overdue (第二十条, 第二十九条), review clocks on the statutory calendar (estimated beyond it), overdue
applications."""

from datetime import date

import pytest
from evaluation_year import TODAY, shared_year

from reports.applications import (
    expiring_agreements,
    overdue_applications,
    overdue_usage_reports,
    review_sla,
    year_filters,
)
from reports.filters import ReportFilters

AS_OF = date(2026, 11, 27)

SETUP = [
    """INSERT INTO agencies (agency_id, name, name_en, kind)
       VALUES ('a1', '市交通委员会', 'T', 'city_bureau'), ('a2', '市卫生健康委员会', 'H', 'city_bureau')""",
    """INSERT INTO datasets (dataset_id, agency_id, name, domain, open_class, format, fields,
                             update_frequency, published_at, last_updated) VALUES
       ('d1', 'a1', '公交线路', '交通', 'conditional', 'api', '[]', 'daily', '2024-01-01', '2026-11-01'),
       ('d2', 'a2', '医院', '卫生', 'conditional', 'api', '[]', 'daily', '2024-01-01', '2026-11-01')""",
    """INSERT INTO consumers (consumer_id, name, kind, credit_code, registered_at) VALUES
       ('c1', '某公司', 'company', '', '2024-01-01 00:00:00')""",
    """INSERT INTO agreements (agreement_id, application_id, consumer_id, dataset_id, scenarios,
                               allowed_fields, ip_allowlist, daily_call_quota, daily_row_quota,
                               valid_from, valid_to, signed_at) VALUES
       ('g1', 'p1', 'c1', 'd1', [], [], [], 10, 10, '2025-01-01', '2026-12-10', '2025-01-01'),
       ('g2', 'p2', 'c1', 'd2', [], [], [], 10, 10, '2025-01-01', '2027-06-30', '2025-01-01'),
       ('g3', 'p3', 'c1', 'd2', [], [], [], 10, 10, '2025-01-01', '2026-11-26', '2025-01-01')""",
    """INSERT INTO usage_reports (report_id, agreement_id, consumer_id, dataset_id, period_start, period_end,
                                  due_date, filed_at, calls_reported, fields_reported) VALUES
       ('u1', 'g1', 'c1', 'd1', '2026-07-01', '2026-09-30', '2026-10-15', NULL, 0, []),
       ('u2', 'g1', 'c1', 'd1', '2026-04-01', '2026-06-30', '2026-07-15', '2026-07-20 09:00:00', 5, []),
       ('u3', 'g2', 'c1', 'd2', '2026-04-01', '2026-06-30', '2026-07-15', '2026-07-10 09:00:00', 5, []),
       ('u4', 'g2', 'c1', 'd2', '2026-10-01', '2026-12-31', '2027-01-15', NULL, 0, [])""",
]


def _setup(client):
    for statement in SETUP:
        client.command(statement)


def test_expiring_agreements_within_the_window(client):
    _setup(client)
    expiring = expiring_agreements(client, within_days=30, as_of=AS_OF)
    assert expiring["agreement_id"].to_list() == ["g1"]            # g3 already expired, g2 far off
    assert expiring["days_left"].to_list() == [13]
    scoped = ReportFilters(date_from=date(2026, 1, 1), date_to=AS_OF, agency_id="a2")
    far = expiring_agreements(client, scoped, within_days=400, as_of=AS_OF)
    assert far["agreement_id"].to_list() == ["g2"]


def test_overdue_usage_reports_unfiled_or_filed_late(client):
    _setup(client)
    overdue = overdue_usage_reports(client, as_of=AS_OF)
    assert overdue["report_id"].to_list() == ["u1", "u2"]          # most days late first
    assert overdue["days_late"].to_list() == [43, 5]
    assert overdue["agency_id"].to_list() == ["a1", "a1"]


def test_review_clock_beyond_the_calendar_is_estimated(client):
    client.command("""INSERT INTO applications (application_id, consumer_id, dataset_id, agency_id, scenario,
                          submitted_at, accepted_at, decided_at, decision, reason) VALUES
        ('q1', 'c1', 'd1', 'a1', 's', '2026-12-29 09:00:00', '2026-12-30 09:00:00', '2027-01-08 09:00:00',
         'approved', '')""")
    filters = ReportFilters(date_from=date(2026, 12, 1), date_to=date(2027, 1, 31))
    row = review_sla(client, filters, as_of=date(2027, 2, 1)).row(0, named=True)
    # Dec 31 from the calendar, Jan 1 (a holiday the fallback cannot know) and Jan 4-8 guessed: 7 > 5.
    assert row["estimated"] is True and row["overdue"] == 1 and row["median_working_days"] == 7


# ---- On the hand-built year of the evaluation tests --------------------------------------------------------

@pytest.fixture(scope="module")
def built_year():
    return shared_year()


def test_review_sla_per_agency_on_the_statutory_calendar(built_year):
    client, _ = built_year
    sla = {row["agency_id"]: row for row in review_sla(client, year_filters(2025), as_of=TODAY).to_dicts()}
    a1, a2 = sla["a1"], sla["a2"]
    assert (a1["reviewed"], a1["within_sla"], a1["overdue"], a1["missing_reason"]) == (4, 3, 1, 1)
    # p1: 2 (Oct 9, 10), p2: 4 (Sep 28 make-up, 29, 30, Oct 9), p3: 6, p4: 1 -> median 3.
    assert a1["median_working_days"] == pytest.approx(3.0)
    assert (a2["reviewed"], a2["within_sla"], a2["pending_overdue"]) == (2, 2, 1)
    overdue = overdue_applications(client, year_filters(2025), as_of=TODAY)
    assert set(overdue["application_id"]) == {"p3", "p5"}
