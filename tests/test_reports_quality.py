"""Data quality (reports/quality.py): each scoring rule on a small real file or a catalog row, every
lost point naming its cause; then the scan on the engine: stored runs, the last profile carried forward,
trends, agency scores, overdue updates. Profiling the files: test_reports_profiling.py; `odwatch quality
scan`: test_reports_cli_quality.py."""

import json
from datetime import date, datetime, timedelta

import pytest
from quality_files import (
    BAD_CODE,
    FIELDS,
    GOOD_CODE,
    SCAN_AT,
    clean_rows,
    load_catalog,
    write_csv,
    write_file,
)

from odwatch.clock import SHANGHAI
from odwatch.errors import UserError
from odwatch.settings import Settings
from reports.filters import ReportFilters
from reports.profiling import profile_file
from reports.quality import (
    DEFAULT_WEIGHTS,
    abbreviation_tokens,
    agency_scores,
    dataset_scores,
    lost_points,
    overdue_updates,
    quality_weights,
    scan_catalog,
    score_content,
    score_dataset,
    score_metadata,
    score_openness,
    score_timeliness,
    score_trend,
)

# ---- Scoring rules, each on a small real file or a catalog row ---------------------------------------------

AT = datetime(2026, 11, 27, 12, 0, tzinfo=SHANGHAI)


def test_a_clean_file_keeps_every_content_point(tmp_path):
    profile = profile_file(write_csv(tmp_path / "clean.csv", clean_rows()), FIELDS)
    parts = score_content(DEFAULT_WEIGHTS, profile)
    for dimension in ("completeness", "uniqueness", "validity", "consistency"):
        assert parts[dimension][0] == pytest.approx(DEFAULT_WEIGHTS[dimension])
        assert [x for x in parts[dimension][1] if x.points > 0] == []


def test_null_cells_cost_completeness_per_field_with_the_row(tmp_path):
    rows = clean_rows()
    rows[3] = "4,,91440300708461136T,2024-01-05,40.5"
    rows[6] = "7,NULL,91440300708461136T,2024-01-08,70.5"
    profile = profile_file(write_csv(tmp_path / "nulls.csv", rows), FIELDS)
    points, losses = score_content(DEFAULT_WEIGHTS, profile)["completeness"]
    [loss] = losses
    assert (loss.field, loss.rule, loss.count, loss.example) == ("company", "null_cells", 2, "第 4 行")
    # 2 of 10 empty = 20% against a zero point of 50%: 0.4 of the field's 15/5 share
    assert loss.points == pytest.approx(15 / 5 * 0.2 / 0.5)
    assert points == pytest.approx(15 - loss.points)


def test_duplicate_rows_and_duplicate_keys_cost_uniqueness(tmp_path):
    rows = clean_rows(20)
    rows.append(rows[0])                                    # an exact duplicate row
    rows.append("5,另一企业,91440300708461136T,2024-02-01,1")  # key 5 again, different row
    profile = profile_file(write_csv(tmp_path / "dupes.csv", rows), FIELDS)
    assert (profile.duplicate_rows, profile.key, profile.duplicate_keys) == (1, "id", 2)
    points, losses = score_content(DEFAULT_WEIGHTS, profile)["uniqueness"]
    by_rule = {x.rule: x for x in losses}
    assert (by_rule["duplicate_rows"].count, by_rule["duplicate_rows"].example) == (1, "第 1、21 行相同")
    assert by_rule["duplicate_rows"].points == pytest.approx(5 * (1 / 22) / 0.1)
    assert by_rule["duplicate_keys"].field == "id"
    assert by_rule["duplicate_keys"].example == "1（第 1、21 行）"
    assert points == pytest.approx(10 - sum(x.points for x in losses))


def test_bad_credit_code_impossible_date_and_type_error_cost_validity(tmp_path):
    rows = clean_rows()
    rows[1] = f"2,企业2,{BAD_CODE},2024-01-03,20.5"
    rows[2] = "3,企业3,91440300708461136T,2023-02-30,30.5"
    rows[4] = "5,企业5,91440300708461136T,2024-01-06,五十"
    rows[5] = "6,企业6,not-a-code,2024-01-07,60.5"
    rows[6] = f"7,企业7,{GOOD_CODE}, 2024-01-08,70.5"
    profile = profile_file(write_csv(tmp_path / "invalid.csv", rows), FIELDS)
    points, losses = score_content(DEFAULT_WEIGHTS, profile)["validity"]
    found = {(x.field, x.rule): (x.count, x.example) for x in losses}
    assert found == {
        ("credit_code", "checksum"): (1, BAD_CODE),
        ("credit_code", "format"): (1, "not-a-code"),
        ("reg_date", "impossible_date"): (1, "2023-02-30"),
        ("reg_date", "format"): (1, " 2024-01-08"),
        ("amount", "type"): (1, "五十"),
    }
    # checked fields: id, credit_code, reg_date, amount (strings are not type-checked)
    share = 15 / 4
    assert sum(x.points for x in losses if x.field == "credit_code") == pytest.approx(share * 0.2 / 0.2)
    assert points == pytest.approx(15 - share * (1.0 + 1.0 + 0.5))      # two bad cells each in code and date


def test_mixed_date_layouts_and_missing_declared_field_cost_consistency(tmp_path):
    rows = clean_rows()
    rows[0] = f"1,企业1,{GOOD_CODE},2024/01/02,10.5"
    declared = [*FIELDS, {"name": "district", "type": "string", "description": "所属区"}]
    profile = profile_file(write_csv(tmp_path / "mixed.csv", rows), declared)
    assert profile.missing_fields == ["district"]
    points, losses = score_content(DEFAULT_WEIGHTS, profile)["consistency"]
    rules = {x.rule: x for x in losses}
    assert rules["schema_mismatch"].example == "district"
    assert rules["mixed_date_formats"].field == "reg_date" and rules["mixed_date_formats"].count == 1
    assert 0 < points < 5


def test_start_after_end_is_a_consistency_loss(tmp_path):
    path = tmp_path / "periods.csv"
    path.write_text("id,start_date,end_date\n1,2024-01-01,2024-12-31\n2,2024-06-01,2024-01-01\n")
    profile = profile_file(path, [{"name": "id", "type": "integer", "description": "编号"},
                                  {"name": "start_date", "type": "date", "description": "起"},
                                  {"name": "end_date", "type": "date", "description": "止"}])
    losses = score_content(DEFAULT_WEIGHTS, profile)["consistency"][1]
    [loss] = [x for x in losses if x.rule == "start_after_end"]
    assert (loss.count, loss.example) == (1, "2024-06-01 > 2024-01-01")


@pytest.mark.parametrize(("frequency", "lag_days", "expected"), [
    ("daily", 2, 15.0),            # interval 1 + grace 1: still full marks
    ("daily", 4, 0.0),             # twice (1 + 1): nothing left
    ("daily", 3, 7.5),             # half way
    ("monthly", 36, 15.0),         # 31 + 5
    ("monthly", 54, 7.5),          # 36 + 18
    ("monthly", 72, 0.0),
    ("yearly", 300, 15.0),
    ("", 396, 15.0),               # undeclared counts as irregular: 366 + 30 days
    ("", 792, 0.0),
])
def test_timeliness_edges(frequency, lag_days, expected):
    points, losses = score_timeliness(15, frequency, AT - timedelta(days=lag_days), AT)
    assert points == pytest.approx(expected)
    assert bool(losses) == (expected < 15)
    if losses:
        assert losses[0].rule == "update_overdue" and losses[0].count == lag_days


def test_timeliness_without_an_update_date_is_zero():
    points, [loss] = score_timeliness(15, "daily", None, AT)
    assert (points, loss.rule, loss.points) == (0.0, "never_updated", 15)


def test_abbreviations_are_recognised():
    assert abbreviation_tokens("xzcf_jdrq") == ["xzcf", "jdrq"]
    assert abbreviation_tokens("QYMC") == ["QYMC"]
    assert abbreviation_tokens("total_amt") == ["amt"]
    assert abbreviation_tokens("company_name") == []
    assert abbreviation_tokens("record_id") == []
    assert abbreviation_tokens("企业名称") == []


def catalog_row(**overrides):
    row = {
        "dataset_id": "DS1", "agency_id": "A1", "name": "上海市企业登记信息",
        "description": "本数据集包含上海市登记注册企业的名称、统一社会信用代码、登记日期等基本信息。",
        "fields": '[{"name":"id","type":"integer","description":"编号"},'
                  '{"name":"company","type":"string","description":"企业名称"}]',
        "update_frequency": "monthly", "published_at": date(2024, 1, 1),
        "last_updated": AT - timedelta(days=3), "format": "csv", "row_count": 100, "domain": "经济",
    }
    return {**row, **overrides}


def test_complete_metadata_keeps_full_marks():
    assert score_metadata(20, catalog_row(), True) == (20, [])


def test_unexplained_abbreviations_and_missing_descriptions_cost_metadata():
    fields = ('[{"name":"qymc","type":"string","description":""},'
              '{"name":"tyshxydm","type":"credit_code","description":"统一社会信用代码"},'
              '{"name":"company","type":"string"}]')
    points, losses = score_metadata(20, catalog_row(fields=fields), True)
    rules = {x.rule: x for x in losses}
    assert rules["abbreviations"].example == "qymc"         # tyshxydm is explained by its description
    assert rules["abbreviations"].points == pytest.approx(3 / 3)
    assert rules["field_descriptions"].count == 2
    assert rules["field_descriptions"].points == pytest.approx(5 * 2 / 3)
    assert points == pytest.approx(20 - 1 - 5 * 2 / 3)


def test_code_like_name_missing_description_publisher_and_dates_cost_metadata():
    row = catalog_row(name="tbl_xzcf_01", description="", update_frequency="",
                      published_at=date(1970, 1, 1))
    points, losses = score_metadata(20, row, publisher_known=False)
    assert {x.rule for x in losses} == {"name", "description", "publisher", "update_frequency", "dates"}
    assert points == pytest.approx(20 - 3 - 3 - 2 - 2 - 1)


@pytest.mark.parametrize(("fmt", "expected"), [
    ("api", 20), ("csv", 20), ("json", 20), ("XML", 20),
    ("xlsx", 12), ("pdf", 4), ("doc", 4), ("dbf", 0), ("", 0),
])
def test_openness_per_format(fmt, expected):
    points, losses = score_openness(20, fmt)
    assert points == pytest.approx(expected)
    assert sum(x.points for x in losses) == pytest.approx(20 - expected)


def test_weights_come_from_settings_and_reject_unknown_dimensions():
    weights = quality_weights(Settings(quality_weights={"openness": 40, "metadata": 0}))
    assert weights["openness"] == 40 and weights["metadata"] == 0 and weights["validity"] == 15
    with pytest.raises(UserError, match="Unknown quality weight"):
        quality_weights(Settings(quality_weights={"beauty": 5}))


def test_weights_override_changes_the_total(tmp_path):
    profile = profile_file(write_csv(tmp_path / "clean.csv", clean_rows()), FIELDS)
    row = catalog_row(format="pdf")
    default = score_dataset(row, quality_weights(Settings()), AT, profile=profile)
    heavy_weights = quality_weights(Settings(quality_weights={"openness": 80}))
    heavy = score_dataset(row, heavy_weights, AT, profile=profile)
    assert default.total == pytest.approx(100 - 16)                    # PDF keeps 4 of 20
    assert heavy.total == pytest.approx(100 * (80 + 80 * 0.2) / 160)     # 80 + 16 of 160
    assert heavy.dimensions["openness"] == pytest.approx(16)


def test_every_lost_point_names_its_cause(tmp_path):
    rows = clean_rows()
    rows[0] = f"1,,{BAD_CODE},2023-02-30,abc"
    profile = profile_file(write_csv(tmp_path / "bad.csv", rows), FIELDS)
    score = score_dataset(catalog_row(format="xlsx", last_updated=AT - timedelta(days=50)),
                          DEFAULT_WEIGHTS, AT, profile=profile)
    lost = 100 - score.total
    assert lost > 0
    assert sum(x.points for x in score.losses) == pytest.approx(lost, abs=0.01)
    for loss in score.losses:
        assert loss.dimension and loss.rule and loss.cause
    assert {x.dimension for x in score.losses if x.points > 0} == {
        "completeness", "validity", "timeliness", "openness"}
    assert all(x.field for x in score.losses if x.dimension in ("completeness", "validity"))


def test_without_a_file_content_is_scored_from_the_catalog_and_says_so():
    row = catalog_row(fields='[{"name":"id","type":"integer","description":"编号"},'
                             '{"name":"x","type":"blob","description":"未知"}]', row_count=0)
    score = score_dataset(row, DEFAULT_WEIGHTS, AT)
    assert not score.profiled
    notes = [x for x in score.losses if x.rule == "not_profiled"]
    assert {x.dimension for x in notes} == {"completeness", "uniqueness", "validity", "consistency"}
    assert all(x.points == 0 for x in notes)
    assert score.dimensions["completeness"] == 0                     # catalog declares no rows
    assert score.dimensions["validity"] == pytest.approx(15 / 2)      # one of two fields untyped
    assert score.dimensions["uniqueness"] == 10


def test_a_header_only_file_has_no_content_points(tmp_path):
    path = write_csv(tmp_path / "empty.csv", [])
    profile = profile_file(path, FIELDS)
    assert (profile.rows, profile.duplicate_rows, profile.duplicate_keys) == (0, 0, 0)
    parts = score_content(DEFAULT_WEIGHTS, profile)
    assert parts["completeness"][0] == 0 and parts["completeness"][1][0].rule == "no_rows"
    assert parts["uniqueness"][0] == 0


# ---- The scan on the engine --------------------------------------------------------------------------------

def test_scan_stores_one_row_per_dataset_with_dimensions_and_causes(client, settings, tmp_path):
    load_catalog(client)
    run_id = scan_catalog(client, settings, {"D1": write_file(tmp_path / "D1.csv", bad=True)}, at=SCAN_AT)
    stored = client.query(
        "SELECT dataset_id, agency_id, total, dimensions, losses, profiled FROM quality_checks "
        "WHERE run_id = {r:String} ORDER BY dataset_id", parameters={"r": run_id}).result_rows
    assert [(r[0], r[1], r[5]) for r in stored] == [("D1", "A1", 1), ("D2", "A1", 0), ("D3", "A2", 0)]
    d1 = stored[0]
    assert set(d1[3]) == {"completeness", "uniqueness", "validity", "consistency", "timeliness", "metadata",
                          "openness"}
    losses = json.loads(d1[4])
    [checksum] = [x for x in losses if x["rule"] == "checksum"]
    assert (checksum["field"], checksum["count"], checksum["example"]) == ("credit_code", 1, BAD_CODE)
    assert d1[2] == pytest.approx(100 - sum(x["points"] for x in losses), abs=0.01)


def test_dataset_scores_are_worst_first_and_filtered(client, settings, tmp_path):
    load_catalog(client)
    scan_catalog(client, settings, {"D1": write_file(tmp_path / "D1.csv")}, at=SCAN_AT)
    today = ReportFilters(SCAN_AT.date(), SCAN_AT.date())
    scores = dataset_scores(client, today)
    assert [s["dataset_id"] for s in scores][0] == "D2"        # PDF, 200 days stale
    assert scores == sorted(scores, key=lambda s: s["total"])
    d2 = next(s for s in scores if s["dataset_id"] == "D2")
    assert d2["dimensions"]["timeliness"] == 0 and d2["dimensions"]["openness"] == 4
    assert d2["agency_name"] == "市市场监管局" and d2["causes"] >= 2
    assert [s["dataset_id"] for s in dataset_scores(client, today.scoped_to("A2"))] == ["D3"]
    before = ReportFilters(SCAN_AT.date() - timedelta(days=30), SCAN_AT.date() - timedelta(days=1))
    assert dataset_scores(client, before) == []                # no check existed yet


def test_lost_points_name_every_cause_largest_first(client, settings, tmp_path):
    load_catalog(client)
    scan_catalog(client, settings, at=SCAN_AT)
    losses = lost_points(client, "D2")
    assert losses == sorted(losses, key=lambda x: -x["points"])
    rules = {x["rule"] for x in losses}
    assert {"update_overdue", "format_pdf", "not_profiled"} <= rules
    assert all(x["dataset_id"] == "D2" and x["cause"] for x in losses)
    assert lost_points(client, "nope") == []


def test_a_run_without_files_carries_the_last_profile_forward_and_trends_exist(client, settings, tmp_path):
    load_catalog(client)
    first = scan_catalog(client, settings, {"D1": write_file(tmp_path / "D1.csv", bad=True)}, at=SCAN_AT)
    second = scan_catalog(client, settings, at=SCAN_AT + timedelta(days=1))
    rows = client.query("SELECT run_id, dimensions['validity'], profiled FROM quality_checks "
                        "WHERE dataset_id = 'D1' ORDER BY checked_at").result_rows
    assert [(r[0], r[2]) for r in rows] == [(first, 1), (second, 0)]
    assert rows[0][1] == pytest.approx(rows[1][1]) and rows[0][1] < 15
    notes = [x for x in lost_points(client, "D1") if x["rule"] == "carried_forward"]
    assert len(notes) == 4 and notes[0]["example"] == first
    trend = score_trend(client, agency_id="A1")
    assert [t["run_id"] for t in trend] == [first, second]
    assert all(t["datasets"] == 2 for t in trend)


def test_agency_scores_average_the_latest_check_of_each_dataset_in_the_year(client, settings, tmp_path):
    load_catalog(client)
    scan_catalog(client, settings, at=SCAN_AT - timedelta(days=2))
    scan_catalog(client, settings, {"D1": write_file(tmp_path / "D1.csv")}, at=SCAN_AT)
    scan_day = ReportFilters(SCAN_AT.date(), SCAN_AT.date())
    latest = {s["dataset_id"]: s for s in dataset_scores(client, scan_day)}
    by_agency = {a["agency_id"]: a for a in agency_scores(client, 2026)}
    a1 = by_agency["A1"]
    assert (a1["datasets"], a1["profiled"], a1["worst_dataset_id"]) == (2, 1, "D2")
    assert a1["score"] == pytest.approx((latest["D1"]["total"] + latest["D2"]["total"]) / 2, abs=0.01)
    assert a1["dimensions"]["openness"] == pytest.approx((20 + 4) / 2)
    assert [a["agency_id"] for a in agency_scores(client, 2026, agency_id="A2")] == ["A2"]
    assert agency_scores(client, 2025) == []


def test_overdue_updates_lists_stale_datasets_only(client):
    load_catalog(client)
    overdue = overdue_updates(client, ReportFilters(SCAN_AT.date(), SCAN_AT.date()), at=SCAN_AT)
    assert [(o["dataset_id"], o["days_overdue"]) for o in overdue] == [("D2", 200 - 36)]
    scoped = ReportFilters(SCAN_AT.date(), SCAN_AT.date(), agency_id="A2")
    assert overdue_updates(client, scoped, at=SCAN_AT) == []


def test_a_file_for_an_unknown_dataset_is_refused_before_anything_is_stored(client, settings, tmp_path):
    load_catalog(client)
    with pytest.raises(UserError, match="No dataset NOPE"):
        scan_catalog(client, settings, {"NOPE": write_file(tmp_path / "x.csv")}, at=SCAN_AT)
    assert client.query("SELECT count() FROM quality_checks").result_rows == [(0,)]
