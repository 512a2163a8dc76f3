"""The annual evaluation on a hand-built two-agency year, with the points worked out by hand.

Agency a1 (市交通委员会): two open datasets in two domains, one late weekly update,
four reviewed applications (one over 5 working days, one refusal without reason),
100 calls on one of its datasets, one complaint handled well, no violation.
Agency a2 (市卫生健康委员会): one dataset, a pending application past its deadline,
10 identified + 10 anonymous calls (20 in all), a complaint neither suspended in time nor
verified, and a high-severity violation (a major incident).
"""

import uuid
from datetime import date

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from conftest import SESSION_DATA_DIR

from detectors.violations import record_violation
from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import Settings
from reports.applications import overdue_applications, review_sla, year_filters
from reports.complaints import complaint_timings
from reports.evaluation import INPUTS, evaluate_year, grade_for
from warehouse import cache, connect

TODAY = date(2026, 11, 27)

REFERENCE = [
    """INSERT INTO agencies (agency_id, name, name_en, kind) VALUES
       ('a1', '市交通委员会', 'Transport', 'city_bureau'),
       ('a2', '市卫生健康委员会', 'Health', 'city_bureau')""",
    """INSERT INTO datasets (dataset_id, agency_id, name, domain, open_class, format, fields,
                             update_frequency, published_at, last_updated, status) VALUES
       ('d1', 'a1', '公交线路', '交通', 'unconditional', 'api', '[]', 'monthly', '2024-05-01',
        '2025-12-20 09:00:00', 'open'),
       ('d2', 'a1', '企业运力', '经济', 'conditional', 'csv', '[]', 'weekly', '2025-03-01',
        '2025-12-17 09:00:00', 'open'),
       ('d3', 'a2', '医疗机构名录', '卫生', 'unconditional', 'json', '[]', 'daily', '2025-02-01',
        '2025-12-31 09:00:00', 'open')""",
    """INSERT INTO consumers (consumer_id, name, kind, credit_code, registered_at) VALUES
       ('c1', '上海某某科技有限公司', 'company', '91310000MA1FL0BQ3X', '2024-01-01 00:00:00'),
       ('c2', '张三', 'person', '', '2024-01-01 00:00:00')""",
    """INSERT INTO applications (application_id, consumer_id, dataset_id, agency_id, scenario,
                                 submitted_at, accepted_at, decided_at, decision, reason) VALUES
       ('p1', 'c1', 'd2', 'a1', 's', '2025-09-29 10:00:00', '2025-09-30 10:00:00',
        '2025-10-10 10:00:00', 'approved', ''),
       ('p2', 'c1', 'd2', 'a1', 's', '2025-09-25 10:00:00', '2025-09-26 10:00:00',
        '2025-10-09 10:00:00', 'approved', ''),
       ('p3', 'c1', 'd2', 'a1', 's', '2025-11-01 10:00:00', '2025-11-03 10:00:00',
        '2025-11-11 10:00:00', 'approved', ''),
       ('p4', 'c2', 'd2', 'a1', 's', '2025-11-30 10:00:00', '2025-12-01 10:00:00',
        '2025-12-02 10:00:00', 'rejected', ''),
       ('p5', 'c2', 'd3', 'a2', 's', '2025-12-09 10:00:00', '2025-12-10 10:00:00', NULL, 'pending', ''),
       ('p6', 'c2', 'd3', 'a2', 's', '2025-05-05 10:00:00', '2025-05-06 10:00:00',
        '2025-05-07 10:00:00', 'approved', ''),
       ('p7', 'c2', 'd3', 'a2', 's', '2025-06-30 10:00:00', '2025-07-01 10:00:00',
        '2025-07-03 10:00:00', 'approved', '')""",
    """INSERT INTO complaints (complaint_id, dataset_id, agency_id, complainant_kind, subject,
                               received_at, suspended_at, verified_at, resolved_at, outcome) VALUES
       ('k1', 'd1', 'a1', 'person', 'privacy', '2025-08-01 10:00:00', '2025-08-01 12:00:00',
        '2025-08-05 10:00:00', '2025-08-06 10:00:00', 'restored'),
       ('k2', 'd3', 'a2', 'company', 'trade_secret', '2025-10-09 10:00:00', '2025-10-11 10:00:00',
        NULL, NULL, 'pending')""",
    """INSERT INTO quality_checks (run_id, dataset_id, agency_id, checked_at, total, dimensions, losses,
                                   profiled) VALUES
       ('r1', 'd1', 'a1', '2025-06-01 10:00:00', 80, {}, '[]', 0),
       ('r2', 'd1', 'a1', '2025-11-01 10:00:00', 90, {}, '[]', 0),
       ('r2', 'd2', 'a1', '2025-11-01 10:00:00', 70, {},
        concat('[{"dimension":"metadata","points":12,"cause":"字段缺少说明","field":"cap",',
               '"rule":"field_description","count":3,"example":"cap"}]'), 0),
       ('r1', 'd3', 'a2', '2025-10-01 10:00:00', 60, {}, '[]', 0),
       ('r3', 'd3', 'a2', '2026-03-01 10:00:00', 100, {}, '[]', 0)""",
    """INSERT INTO access_log (event_id, ts, consumer_id, dataset_id, channel, status, rows, client_ip)
       SELECT concat('e1-', toString(number)), toDateTime64('2025-06-02 10:00:00', 3, 'Asia/Shanghai'),
              'c1', 'd1', 'api', 200, 10, '10.0.0.1' FROM numbers(100)""",
    """INSERT INTO access_log (event_id, ts, consumer_id, dataset_id, channel, status, rows, client_ip)
       SELECT concat('e2-', toString(number)), toDateTime64('2025-06-02 11:00:00', 3, 'Asia/Shanghai'),
              if(number < 10, 'c2', ''), 'd3', 'download', 200, 1, '10.0.0.2' FROM numbers(20)""",
    """INSERT INTO violations (violation_id, consumer_id, key_id, dataset_id, agency_id, category,
                               description, alert_ids, recorded_at, recorded_by, severity, publicized) VALUES
       ('v1', 'c2', 'k-c2', 'd3', 'a2', 2, '从 10.9.9.9 批量抓取', ['al1'], '2025-11-20 10:00:00', 'sec',
        'high', 1)""",
]


def build_two_agency_year(client) -> None:
    for statement in REFERENCE:
        client.command(statement)


def insert_violation(client, violation_id: str, recorded_at: str, severity: str) -> None:
    """A confirmed violation by c1 on a1's dataset d1 (category 4: beyond the agreed scenarios)."""
    client.command("""
        INSERT INTO violations (violation_id, consumer_id, key_id, dataset_id, agency_id, category,
                                description, alert_ids, recorded_at, recorded_by, severity, publicized)
        VALUES ({id:String}, 'c1', 'k-c1', 'd1', 'a1', 4, '超范围使用', [{id:String}],
                {at:String}, 'sec', {severity:String}, 1)""",
                   parameters={"id": violation_id, "at": recorded_at, "severity": severity})


def shared_year() -> tuple:
    """A database holding the hand-built year, for a module's read-only tests (built once)."""
    settings = Settings(data_dir=SESSION_DATA_DIR, clickhouse_database=f"t_{uuid.uuid4().hex[:12]}")
    client = connect(settings)
    build_two_agency_year(client)
    return client, settings


@pytest.fixture(scope="module")
def built_year():
    return shared_year()


@pytest.fixture(scope="module")
def year_2025(built_year):
    return built_year[0]


@pytest.fixture(scope="module")
def evaluation(built_year):
    client, settings = built_year
    return evaluate_year(client, settings, 2025, today=TODAY)


def test_review_sla_per_agency_on_the_statutory_calendar(year_2025):
    sla = {row["agency_id"]: row for row in review_sla(year_2025, year_filters(2025), as_of=TODAY).to_dicts()}
    a1, a2 = sla["a1"], sla["a2"]
    assert (a1["reviewed"], a1["within_sla"], a1["overdue"], a1["missing_reason"]) == (4, 3, 1, 1)
    assert a1["share_within_sla"] == pytest.approx(0.75)
    # p1: 2 (Oct 9, 10), p2: 4 (Sep 28 make-up, 29, 30, Oct 9), p3: 6, p4: 1 -> median 3.
    assert a1["median_working_days"] == pytest.approx(3.0)
    assert (a2["reviewed"], a2["within_sla"], a2["pending_overdue"]) == (2, 2, 1)
    assert a1["estimated"] is False and a2["agency_name"] == "市卫生健康委员会"


def test_overdue_list_holds_late_and_pending_past_deadline(year_2025):
    overdue = overdue_applications(year_2025, year_filters(2025), as_of=TODAY)
    assert set(overdue["application_id"]) == {"p3", "p5"}
    p3 = overdue.filter(overdue["application_id"] == "p3").row(0, named=True)
    assert p3["working_days"] == 6


def test_complaint_timings(year_2025):
    rows = {r["complaint_id"]: r for r in complaint_timings(year_2025, year_filters(2025), TODAY).to_dicts()}
    assert rows["k1"]["hours_to_suspend"] == pytest.approx(2.0)
    assert rows["k1"]["working_days_to_verify"] == 2          # Aug 4 and 5 after Friday Aug 1
    assert rows["k1"]["outcome_label"] == "恢复开放" and rows["k1"]["closed"]
    assert rows["k2"]["hours_to_suspend"] == pytest.approx(48.0)
    assert not rows["k2"]["suspended_in_time"] and not rows["k2"]["verified_in_time"]


def test_evaluation_points_per_dimension(evaluation):
    a1, a2 = evaluation.agency("a1"), evaluation.agency("a2")
    points = {k: d.points for k, d in a1.dimensions.items()}
    assert points == {"quantity": 15.0, "quality": 20.0, "timeliness": 7.5, "review_sla": 9.0,
                      "utilisation": 12.75, "complaints": 10.0, "security": 5.0}
    assert a1.total == pytest.approx(79.25) and a1.grade == "良好" and a1.rank == 1
    points = {k: d.points for k, d in a2.dimensions.items()}
    assert points["quantity"] == 7.5 and points["quality"] == 15.0 and points["timeliness"] == 15.0
    assert points["review_sla"] == pytest.approx(11.0)
    # 20 calls (anonymous ones count), 1 identified consumer, its only dataset used:
    # 0.5 × ln 21 / ln 101 + 0.3 + 0.2 = 0.8299 -> 12.45
    assert points["utilisation"] == pytest.approx(12.45, abs=0.01)
    assert points["complaints"] == 0.0 and points["security"] == 0.0
    assert a2.total == pytest.approx(60.95, abs=0.01) and a2.grade == "合格" and a2.rank == 2
    assert not a2.capped                                     # below the cap already


def test_every_score_names_its_inputs_and_lost_points(evaluation):
    a1 = evaluation.agency("a1")
    assert a1.dimensions["review_sla"].inputs["overdue"] == 1
    assert any("未一次性告知理由" in reason for reason in a1.dimensions["review_sla"].lost)
    assert a1.dimensions["timeliness"].inputs["late_datasets"] == ["d2"]
    assert a1.dimensions["quality"].inputs["mean_score"] == pytest.approx(80.0)
    assert evaluation.agency("a2").dimensions["security"].inputs["violation_ids"] == ["v1"]
    assert evaluation.worst_datasets[0]["dataset_id"] == "d3"
    assert evaluation.worst_datasets[1]["issues"][0]["cause"] == "字段缺少说明"
    assert len(evaluation.dimension_rows()) == 14


def test_change_against_the_previous_year(evaluation):
    a1 = evaluation.agency("a1")
    # 2024: only d1, no quality checks and no access log (both left out), nothing else to lose.
    assert a1.previous_total == 100.0 and a1.previous_rank == 1
    assert a1.change == pytest.approx(-20.75) and a1.rank_change == 0
    assert evaluation.agency("a2").previous_total is None


def test_weights_from_config_and_the_major_incident_cap(built_year):
    year_2025, settings = built_year
    weights = {"quantity": 0, "quality": 0, "review_sla": 0, "utilisation": 0, "complaints": 0,
               "security": 0, "timeliness": 10}
    tuned = Settings(**{**settings.model_dump(), "evaluation_weights": weights})
    evaluation = evaluate_year(year_2025, tuned, 2025, today=TODAY)
    a2 = evaluation.agency("a2")
    assert a2.uncapped_total == 100.0 and a2.total == 74.0 and a2.capped and a2.grade == "合格"
    assert evaluation.agency("a1").total == 50.0
    assert [a.agency_id for a in evaluation.agencies] == ["a2", "a1"]


def test_bad_weights_and_years_are_user_errors(client, settings):
    with pytest.raises(UserError):
        evaluate_year(client, Settings(**{**settings.model_dump(), "evaluation_weights": {"speed": 3}}), 2025)
    with pytest.raises(UserError):
        evaluate_year(client, settings, 2031, today=TODAY)


def test_grades_at_their_boundaries():
    assert [grade_for(x) for x in (90, 89.99, 75, 74.99, 60, 59.99)] == [
        "优秀", "良好", "良好", "合格", "合格", "不合格"]


def test_an_empty_platform_evaluates_to_nothing(client, settings):
    evaluation = evaluate_year(client, settings, 2025, today=TODAY)
    assert evaluation.agencies == [] and evaluation.key_figures["agencies"] == 0


def test_an_evaluation_is_reused_only_while_the_warehouse_is_unchanged(client, settings):
    build_two_agency_year(client)
    first = evaluate_year(client, settings, 2025, today=TODAY)
    again = evaluate_year(client, settings, 2025, today=TODAY)
    assert again is not first and again.agency("a1").total == first.agency("a1").total
    again.agency("a1").total = 0.0                        # a caller's change is not kept
    assert evaluate_year(client, settings, 2025, today=TODAY).agency("a1").total == first.agency("a1").total
    insert_violation(client, "v2", "2025-12-01 10:00:00", "high")
    after = evaluate_year(client, settings, 2025, today=TODAY)
    assert after.agency("a1").capped and after.agency("a1").total < first.agency("a1").total


def test_new_traffic_is_counted_on_the_next_evaluation(client, settings):
    build_two_agency_year(client)
    before = evaluate_year(client, settings, 2025, today=TODAY).agency("a1").dimensions["utilisation"]
    client.command("""
        INSERT INTO access_log (event_id, ts, consumer_id, dataset_id, channel, status, rows, client_ip)
        SELECT concat('late-', toString(number)), toDateTime64('2025-12-30 10:00:00', 3, 'Asia/Shanghai'),
               'c3', 'd2', 'api', 200, 1, '10.0.0.3' FROM numbers(5)""")
    after = evaluate_year(client, settings, 2025, today=TODAY).agency("a1").dimensions["utilisation"]
    assert after.inputs["calls"] == before.inputs["calls"] + 5
    assert after.inputs["consumers"] == before.inputs["consumers"] + 1
    assert after.inputs["used_datasets"] == 2


def test_a_confirmed_violation_counts_at_once(client, settings):
    """Recorded through detectors.violations (as triage confirms an alert), it reaches the very
    next evaluation: the kept one was computed before the write."""
    build_two_agency_year(client)
    year = clock.today().year                                      # the year the record is made in
    before = evaluate_year(client, settings, year).agency("a1").dimensions["security"]
    violation_id = record_violation(client, consumer_id="c1", category=4, actor="sam", dataset_id="d1",
                                    agency_id="a1", description="超范围使用", severity="high")
    after = evaluate_year(client, settings, year).agency("a1").dimensions["security"]
    assert before.inputs["violation_ids"] == [] and before.ratio == 1.0
    assert after.inputs["violation_ids"] == [violation_id] and after.ratio == 0.0


def test_evaluations_after_a_change_agree_with_evaluations_made_afresh(client, settings):
    """An evaluation after a change is the one a process that kept nothing makes."""
    build_two_agency_year(client)
    evaluate_year(client, settings, 2026, today=TODAY)
    insert_violation(client, "v8", "2025-06-01 10:00:00", "critical")
    after_change = evaluate_year(client, settings, 2026, today=TODAY)
    cache.clear()
    afresh = evaluate_year(client, settings, 2026, today=TODAY)
    assert after_change.ranking_rows() == afresh.ranking_rows()
    assert after_change.agency("a1").previous_total == afresh.agency("a1").previous_total
    assert after_change.agency("a1").previous_total <= 74.0          # 2025's major incident caps it


def test_each_input_reads_a_year_alike_alone_or_with_another(built_year):
    """Inputs read both years in one query; a year's rows must not depend on the other year."""
    client, _ = built_year
    for name, read in INPUTS.items():
        together = read(client, (2025, 2026), TODAY)
        for year in (2025, 2026):
            assert together[year] == read(client, (year,), TODAY)[year], (name, year)


class RecordingClient:
    """The test's client, noting the SQL of every query made through it."""

    def __init__(self, client) -> None:
        self.client, self.statements = client, []

    def __getattr__(self, name: str):
        attribute = getattr(self.client, name)
        if not name.startswith("query"):
            return attribute

        def recorded(sql, *args, **kwargs):
            self.statements.append(sql)
            return attribute(sql, *args, **kwargs)
        return recorded


class ProjectionCheckingClient(RecordingClient):
    """The test's client, making the engine refuse a query that does not read `projection`."""

    def __init__(self, client, projection: str) -> None:
        super().__init__(client)
        self.required = {"force_optimize_projection_name": projection}

    def query(self, sql, *args, settings=None, **kwargs):
        return self.client.query(sql, *args, settings=(settings or {}) | self.required, **kwargs)


@pytest.mark.parametrize(("projection", "table"), [("per_year_dataset_channel", "usage_daily_dataset"),
                                                   ("per_year_dataset_visitor", "visitor_presence")])
def test_the_use_of_a_year_is_read_from_the_yearly_projections(built_year, projection, table):
    """Read from the per-day and per-month rows instead, the usage input costs 100-200 ms at 10 M events."""
    client, _ = built_year
    checking = ProjectionCheckingClient(client, projection)
    usage = INPUTS["usage"](checking, (2025, 2026), TODAY)[2025]
    assert (usage["a1"]["calls"], usage["a2"]["consumers"]) == (100, 1)
    with pytest.raises(DatabaseError, match=projection):                    # the check itself can fail
        checking.query(f"SELECT * FROM {table}")
