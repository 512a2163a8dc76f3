"""The annual evaluation (reports/evaluation.py) on the hand-built two-agency year
(tests/evaluation_year.py): points worked out by hand, one test per fairness rule, weights from the
settings, grades; a draft past year reads the catalog as it was. A published or final year, read back
and never computed again: test_reports_evaluation_store.py."""

import json
from datetime import date

import pytest
from evaluation_year import (
    REFERENCE,
    RELOADED_CATALOG,
    TODAY,
    build_two_agency_year,
    insert_violation,
    shared_year,
)

from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import Settings
from reports.evaluation import grade_for
from reports.evaluation_store import canonical_json, evaluate_year


@pytest.fixture(scope="module")
def built_year():
    return shared_year()


@pytest.fixture(scope="module")
def evaluation(built_year):
    client, settings = built_year
    return evaluate_year(client, settings, 2025, today=TODAY)


def test_points_per_dimension(evaluation):
    a1, a2 = evaluation.agency("a1"), evaluation.agency("a2")
    points = {k: d.points for k, d in a1.dimensions.items()}
    # quality: d1 profiled 75/85, d2 not profiled: metadata + openness only, 20/40 -> mean 0.6912 x 25.
    # timeliness: d1 monthly on time; d2 weekly, 14.6 days late against 7 + 2 -> 0.375 left; mean 0.6875.
    assert points == pytest.approx(
        {
            "quantity": 15.0,
            "quality": 17.28,
            "timeliness": 10.31,
            "review_sla": 9.0,
            "utilisation": 12.75,
            "complaints": 10.0,
            "security": 5.0,
        },
        abs=0.01,
    )
    assert a1.total == pytest.approx(79.34) and a1.grade == "良好" and a1.rank == 1
    assert a1.measured_share == 1.0
    points = {k: d.points for k, d in a2.dimensions.items()}
    # One complaint, neither verified nor closed (complaints 0), not suspended within 24 h but the
    # data was not withdrawn (security 0.5 x 5).
    assert (points["complaints"], points["security"]) == (0.0, 2.5)
    assert a2.total == pytest.approx(78.3) and a2.rank == 2


def printed_total(agency) -> float:
    """An agency's total as a reader works it out from its printed row: the points of the scored
    dimensions added up, over their weights, out of 100."""
    scored = [d for d in agency.dimensions.values() if d.points is not None and d.weight > 0]
    return round(100 * sum(d.points for d in scored) / sum(d.weight for d in scored), 2)


def test_every_total_is_the_sum_of_its_printed_points(evaluation):
    assert [printed_total(a) for a in evaluation.agencies] == [a.total for a in evaluation.agencies]
    a1 = evaluation.agency("a1")  # fully measured, weights adding to 100: the plain sum of the row
    assert a1.measured_share == 1.0 and a1.total == round(sum(d.points for d in a1.dimensions.values()), 2)


def test_unprofiled_content_is_not_evaluated_and_shares_are_shown(evaluation):
    """Rule: content dimensions without a profiled file are 未评估, out of the denominator."""
    quality = evaluation.agency("a1").dimensions["quality"]
    assert quality.inputs["checked"] == 2 and quality.inputs["profiled"] == 1
    # d2's full content points in the stored check (45 of them) count for nothing: 20/40, not 65/85.
    assert quality.ratio == pytest.approx((75 / 85 + 20 / 40) / 2)
    assert quality.measured_share == pytest.approx((1 + 40 / 85) / 2, abs=1e-4)
    assert any("内容维度未评估" in reason for reason in quality.lost)
    worst = evaluation.worst_datasets[0]
    assert worst["dataset"] == "企业运力" and worst["measured_share"] == pytest.approx(40 / 85, abs=1e-4)


def test_no_applications_and_no_complaints_are_nothing_to_assess(client, settings):
    """Rule: no applications is 无此事项, not 15/15; the total is over the dimensions scored."""
    build_two_agency_year(client)
    client.command("ALTER TABLE applications DELETE WHERE agency_id = 'a1' SETTINGS mutations_sync = 2")
    client.command("ALTER TABLE complaints DELETE WHERE agency_id = 'a1' SETTINGS mutations_sync = 2")
    a1 = evaluate_year(client, settings, 2025, today=TODAY).agency("a1")
    for key in ("review_sla", "complaints", "security"):
        assert a1.dimensions[key].ratio is None and a1.dimensions[key].status == "not_applicable"
        assert a1.dimensions[key].status_text == "无此事项" and a1.dimensions[key].points is None
    scored = {"quantity": 15, "quality": 25, "timeliness": 15, "utilisation": 15}
    expected = 100 * sum(w * a1.dimensions[k].ratio for k, w in scored.items()) / 70
    assert a1.total == pytest.approx(expected, abs=0.01) and a1.measured_share == pytest.approx(0.7)


def test_an_agency_with_nothing_open_has_no_use_to_assess(client, settings):
    """Rule: an agency whose listed datasets are all 非开放 is not docked for their not being used; its
    quantity says what it opened (nothing)."""
    for statement in REFERENCE:      # the year as built, with a1's two datasets listed as 非开放
        client.command(statement.replace("'unconditional', 'api'", "'closed', 'api'")
                                .replace("'conditional', 'csv'", "'closed', 'csv'"))
    a1 = evaluate_year(client, settings, 2025, today=TODAY).agency("a1")
    assert a1.dimensions["utilisation"].status_text == "无此事项"
    assert a1.dimensions["quantity"].ratio == 0 and a1.dimensions["quantity"].points == 0


def test_an_agency_with_nothing_listed_is_named_not_left_out_silently(client, settings):
    """Rule: listing nothing is not a better result than listing and opening little."""
    build_two_agency_year(client)
    client.command("INSERT INTO agencies (agency_id, name, kind) "
                   "VALUES ('a3', '市绿化市容局', 'city_bureau')")
    evaluation = evaluate_year(client, settings, 2025, today=TODAY)
    assert [a.agency_id for a in evaluation.agencies] == ["a1", "a2"]
    assert "1 个数据开放主体本年度开放清单中没有数据集，未参加评估：市绿化市容局" in evaluation.notes


def test_a_consumers_violation_is_context_not_the_agencys_score(client, settings):
    """Rule: a consumer's Art. 31 violation on the agency's data does not move its score."""
    build_two_agency_year(client)
    before = evaluate_year(client, settings, 2025, today=TODAY).agency("a1")
    insert_violation(client, "v9", "2025-12-01 10:00:00", "critical")
    after = evaluate_year(client, settings, 2025, today=TODAY).agency("a1")
    assert after.total == before.total and after.grade == before.grade
    assert before.context == [] and "违法违规记录 1 起（其中严重程度为严重 1 起）" in after.context[0]
    assert "不计入本单位得分" in after.context[0]


def test_static_irregular_and_withdrawn_data_are_never_late(client, settings):
    """Rule: static data (第九条(五)), irregular data and withdrawn datasets (第十条(二)) are not late."""
    client.command(
        "INSERT INTO agencies (agency_id, name, name_en, kind) VALUES ('s', '市档案局', '', 'city_bureau')"
    )
    client.command("""
        INSERT INTO datasets (dataset_id, agency_id, name, domain, open_class, format, fields,
                              update_frequency, published_at, last_updated, status) VALUES
           ('old1', 's', '历史档案目录', '文化', 'unconditional', 'csv', '[]', 'static', '2019-01-01',
            '2019-02-01 00:00:00', 'open'),
           ('old2', 's', '不定期公告', '文化', 'unconditional', 'csv', '[]', 'irregular', '2019-01-01',
            '2019-02-01 00:00:00', 'open'),
           ('old3', 's', '停止更新数据', '文化', 'unconditional', 'csv', '[]', 'monthly', '2019-01-01',
            '2019-02-01 00:00:00', 'withdrawn')""")
    agency = evaluate_year(client, settings, 2025, today=TODAY).agency("s")
    timeliness = agency.dimensions["timeliness"]
    assert timeliness.status == "not_applicable" and timeliness.ratio is None
    assert timeliness.inputs == {"scheduled": 0, "never_late": 2, "on_time": 0, "late": 0}
    # The withdrawn one is off the list: two listed, both open.
    assert agency.dimensions["quantity"].inputs["listed"] == 2 and agency.dimensions["quantity"].ratio == 1.0
    client.command("""
        INSERT INTO datasets (dataset_id, agency_id, name, domain, open_class, format, fields,
                              update_frequency, published_at, last_updated, status) VALUES
           ('new1', 's', '每月统计', '文化', 'unconditional', 'csv', '[]', 'monthly', '2019-01-01',
            '2019-02-01 00:00:00', 'open')""")
    late = evaluate_year(client, settings, 2025, today=TODAY).agency("s").dimensions["timeliness"]
    assert late.ratio == 0.0 and late.inputs["late"] == 1
    assert "本年度未更新，最近一次更新为2019年2月1日" in late.lost[0]  # not "2,500 天"


def test_year_over_year_only_on_the_dimensions_both_years_have(evaluation):
    """Rule: 2024 had no access log and no quality check; the change is on the other dimensions."""
    a1 = evaluation.agency("a1")
    comparison = a1.comparison
    assert comparison.comparable and comparison.basis == ["quantity", "timeliness"]
    # 2024: d1 only, on time; 2025 on the same basis: (15 x 1 + 15 x 0.6875) / 30.
    assert comparison.previous_total == 100.0 and comparison.total == pytest.approx(84.38, abs=0.01)
    assert a1.change == pytest.approx(-15.62, abs=0.01)
    a2 = evaluation.agency("a2")  # d3 was published in 2025
    assert not a2.comparison.comparable and a2.change is None and a2.comparison.reason == "2024年度未参评"


def test_the_calls_of_a_year_say_which_days_the_log_covers(built_year, evaluation):
    """The hand-built year's log holds one day: the report's overview says so beside the year's calls."""
    from reports.export.annual import annual_document

    assert list(evaluation.key_figures["log_days"]) == ["2025-06-02", "2025-06-02"]
    text = "\n".join(str(block) for block in annual_document(evaluation, built_year[1]).blocks)
    assert "全年有效调用 120 次（网关日志覆盖2025年6月2日至2025年6月2日，其余日期无记录）" in text


def test_the_context_names_each_severity_as_annex_2_does(evaluation):
    """a2's one violation is graded high: 高 in 附件2, so 高 in a2's note, not 严重."""
    [note] = evaluation.agency("a2").context
    [record] = evaluation.violations
    assert record["severity"] == "high" and "（其中严重程度为高 1 起）" in note and "严重 1" not in note


def test_a_draft_past_year_reads_the_catalog_as_it_was(client, settings):
    build_two_agency_year(client)
    before = evaluate_year(client, settings, 2025, today=TODAY)
    current_before = evaluate_year(client, settings, clock.today().year)  # as of today: the newest
    client.command(RELOADED_CATALOG)
    after = evaluate_year(client, settings, 2025, today=TODAY)
    assert canonical_json(after.to_dict()) == canonical_json(before.to_dict())
    current = evaluate_year(client, settings, clock.today().year).agency("a1")
    assert (
        current.dimensions["quantity"].ratio
        == 0.5
        != current_before.agency("a1").dimensions["quantity"].ratio
    )


def test_weights_from_config(built_year):
    client, settings = built_year
    weights = {
        "quantity": 0,
        "quality": 0,
        "review_sla": 0,
        "utilisation": 0,
        "complaints": 0,
        "security": 0,
        "timeliness": 10,
    }
    tuned = Settings(**{**settings.model_dump(), "evaluation_weights": weights})
    evaluation = evaluate_year(client, tuned, 2025, today=TODAY)
    # a1's timeliness 0.6875 of 10 points prints as 6.88; the total is made from the printed points.
    assert evaluation.agency("a2").total == 100.0 and evaluation.agency("a1").total == pytest.approx(68.8)
    assert [a.agency_id for a in evaluation.agencies] == ["a2", "a1"]


def test_bad_weights_and_years_are_user_errors(client, settings):
    with pytest.raises(UserError):
        evaluate_year(client, Settings(**{**settings.model_dump(), "evaluation_weights": {"speed": 3}}), 2025)
    with pytest.raises(UserError):
        evaluate_year(client, settings, 2031, today=TODAY)


def test_grades_at_their_boundaries():
    assert [grade_for(x) for x in (90, 89.99, 75, 74.99, 60, 59.99)] == [
        "优秀",
        "良好",
        "良好",
        "合格",
        "合格",
        "不合格",
    ]


def test_an_empty_platform_evaluates_to_nothing(client, settings):
    evaluation = evaluate_year(client, settings, 2025, today=TODAY)
    assert evaluation.agencies == [] and evaluation.key_figures["agencies"] == 0


def test_new_traffic_is_counted_on_the_next_evaluation(client, settings):
    build_two_agency_year(client)
    before = evaluate_year(client, settings, 2025, today=TODAY).agency("a1").dimensions["utilisation"]
    client.command("""
        INSERT INTO access_log (event_id, ts, consumer_id, dataset_id, channel, status, rows, client_ip)
        SELECT concat('late-', toString(number)), toDateTime64('2025-12-30 10:00:00', 3, 'Asia/Shanghai'),
               'c3', 'd2', 'api', 200, 1, '10.0.0.3' FROM numbers(5)""")
    after = evaluate_year(client, settings, 2025, today=TODAY).agency("a1").dimensions["utilisation"]
    assert after.inputs["calls"] == before.inputs["calls"] + 5
    assert after.inputs["consumers"] == before.inputs["consumers"] + 1 and after.inputs["used"] == 2


def test_the_json_of_a_year_round_trips(evaluation):
    data = json.loads(canonical_json(evaluation.to_dict()))
    assert canonical_json(type(evaluation).from_dict(data).to_dict()) == canonical_json(evaluation.to_dict())
    assert evaluation.as_of == date(2025, 12, 31)


PLAN_CSV = "数据开放主体,年度,计划开放数据集数,备注\n{agency},2025,{planned},重点开放交通领域\n"


def test_an_opening_plan_weighs_in_where_one_is_loaded(client, settings, tmp_path):
    """Rule: quantity is against the agency's own obligations; a loaded plan is half of it. A plan
    loaded after its year can still be corrected; a version loaded by the year's end stays."""
    from ingest.reference import load_reference_dir

    build_two_agency_year(client)
    without = evaluate_year(client, settings, 2025, today=TODAY).agency("a1").dimensions["quantity"]
    name = client.query("SELECT name FROM agencies FINAL WHERE agency_id = 'a1'").result_rows[0][0]
    plans = tmp_path / "opening_plans.csv"
    plans.write_text(PLAN_CSV.format(agency=name, planned=4) + "不存在的委办局,2025,5,\n"
                     + f"{name},2025,6,\n", encoding="utf-8")
    report = load_reference_dir(client, tmp_path)["opening_plans"]
    assert (report.loaded, report.rejected) == (1, 2)   # agency by name, Chinese headers, no mapping file
    assert set(report.reasons) == {"agency_id is no agency of the catalog (by id or name)",
                                   "a second plan of for the same year in one file"}
    with_plan = evaluate_year(client, settings, 2025, today=TODAY).agency("a1").dimensions["quantity"]
    opened = with_plan.inputs["opened_this_year"]
    assert with_plan.inputs["planned"] == 4 and 0 < opened < 4
    assert with_plan.ratio == pytest.approx((without.ratio + opened / 4) / 2)
    assert f"年度开放计划 4 个数据集，本年度实际新开放 {opened} 个" in with_plan.lost
    other = evaluate_year(client, settings, 2025, today=TODAY).agency("a2").dimensions["quantity"]
    assert "planned" not in other.inputs                    # no plan loaded: the share alone
    plans.write_text(PLAN_CSV.format(agency=name, planned=2), encoding="utf-8")
    load_reference_dir(client, tmp_path)                    # a correction, loaded after the year
    corrected = evaluate_year(client, settings, 2025, today=TODAY).agency("a1").dimensions["quantity"]
    assert corrected.inputs["planned"] == 2
    client.command("INSERT INTO opening_plans (agency_id, year, planned_datasets, updated_at) "
                   "VALUES ('a1', 2025, 3, '2025-06-30 10:00:00')")
    as_it_stood = evaluate_year(client, settings, 2025, today=TODAY).agency("a1").dimensions["quantity"]
    assert as_it_stood.inputs["planned"] == 3               # loaded during the year: that one counts
