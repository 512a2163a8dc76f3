"""The quality scan against the real engine: stored runs, trends, agency scores, queries and the CLI."""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from odwatch.errors import UserError
from odwatch.settings import get_settings
from reports.cli_quality import files_for
from reports.filters import ReportFilters
from reports.quality import (
    agency_scores,
    dataset_scores,
    lost_points,
    overdue_updates,
    scan_catalog,
    score_trend,
)

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)
CODE = "91440300708461136T"
FIELDS = json.dumps([
    {"name": "id", "type": "integer", "description": "编号"},
    {"name": "company", "type": "string", "description": "企业名称"},
    {"name": "credit_code", "type": "credit_code", "description": "统一社会信用代码"},
], ensure_ascii=False)
DESCRIPTION = "本数据集包含本市登记企业的名称与统一社会信用代码，按月更新，供社会公众查询使用。"


def load_catalog(client):
    client.insert("agencies", [["A1", "市市场监管局", "SAMR", "city_bureau"],
                               ["A2", "市交通委", "Transport", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    columns = ["dataset_id", "agency_id", "name", "description", "domain", "open_class", "format", "fields",
               "update_frequency", "published_at", "last_updated", "row_count"]
    client.insert("datasets", [
        ["D1", "A1", "企业登记信息", DESCRIPTION, "经济", "unconditional", "csv", FIELDS, "monthly",
         date(2024, 1, 1), AT - timedelta(days=10), 3],
        ["D2", "A1", "企业年报信息", DESCRIPTION, "经济", "conditional", "pdf", FIELDS, "monthly",
         date(2024, 1, 1), AT - timedelta(days=200), 3],
        ["D3", "A2", "公交线路", DESCRIPTION, "交通", "unconditional", "json", FIELDS, "daily",
         date(2024, 1, 1), AT - timedelta(hours=5), 3],
    ], column_names=columns)


def write_file(path, bad=False):
    rows = [f"1,甲公司,{CODE}", f"2,乙公司,{CODE[:-1] + 'U' if bad else CODE}", f"3,丙公司,{CODE}"]
    path.write_text("id,company,credit_code\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_scan_stores_one_row_per_dataset_with_dimensions_and_causes(client, settings, tmp_path):
    load_catalog(client)
    run_id = scan_catalog(client, settings, {"D1": write_file(tmp_path / "D1.csv", bad=True)}, at=AT)
    stored = client.query(
        "SELECT dataset_id, agency_id, total, dimensions, losses, profiled FROM quality_checks "
        "WHERE run_id = {r:String} ORDER BY dataset_id", parameters={"r": run_id}).result_rows
    assert [(r[0], r[1], r[5]) for r in stored] == [("D1", "A1", 1), ("D2", "A1", 0), ("D3", "A2", 0)]
    d1 = stored[0]
    assert set(d1[3]) == {"completeness", "uniqueness", "validity", "consistency", "timeliness", "metadata",
                          "openness"}
    losses = json.loads(d1[4])
    [checksum] = [x for x in losses if x["rule"] == "checksum"]
    assert (checksum["field"], checksum["count"], checksum["example"]) == ("credit_code", 1, CODE[:-1] + "U")
    assert d1[2] == pytest.approx(100 - sum(x["points"] for x in losses), abs=0.01)


def test_dataset_scores_are_worst_first_and_filtered(client, settings, tmp_path):
    load_catalog(client)
    scan_catalog(client, settings, {"D1": write_file(tmp_path / "D1.csv")}, at=AT)
    today = ReportFilters(AT.date(), AT.date())
    scores = dataset_scores(client, today)
    assert [s["dataset_id"] for s in scores][0] == "D2"        # PDF, 200 days stale
    assert scores == sorted(scores, key=lambda s: s["total"])
    d2 = next(s for s in scores if s["dataset_id"] == "D2")
    assert d2["dimensions"]["timeliness"] == 0 and d2["dimensions"]["openness"] == 4
    assert d2["agency_name"] == "市市场监管局" and d2["causes"] >= 2
    assert [s["dataset_id"] for s in dataset_scores(client, today.scoped_to("A2"))] == ["D3"]
    before = ReportFilters(AT.date() - timedelta(days=30), AT.date() - timedelta(days=1))
    assert dataset_scores(client, before) == []                # no check existed yet


def test_lost_points_name_every_cause_largest_first(client, settings, tmp_path):
    load_catalog(client)
    scan_catalog(client, settings, at=AT)
    losses = lost_points(client, "D2")
    assert losses == sorted(losses, key=lambda x: -x["points"])
    rules = {x["rule"] for x in losses}
    assert {"update_overdue", "format_pdf", "not_profiled"} <= rules
    assert all(x["dataset_id"] == "D2" and x["cause"] for x in losses)
    assert lost_points(client, "nope") == []


def test_a_run_without_files_carries_the_last_profile_forward_and_trends_exist(client, settings, tmp_path):
    load_catalog(client)
    first = scan_catalog(client, settings, {"D1": write_file(tmp_path / "D1.csv", bad=True)}, at=AT)
    second = scan_catalog(client, settings, at=AT + timedelta(days=1))
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
    scan_catalog(client, settings, at=AT - timedelta(days=2))
    scan_catalog(client, settings, {"D1": write_file(tmp_path / "D1.csv")}, at=AT)
    latest = {s["dataset_id"]: s for s in dataset_scores(client, ReportFilters(AT.date(), AT.date()))}
    by_agency = {a["agency_id"]: a for a in agency_scores(client, 2026)}
    a1 = by_agency["A1"]
    assert (a1["datasets"], a1["profiled"], a1["worst_dataset_id"]) == (2, 1, "D2")
    assert a1["score"] == pytest.approx((latest["D1"]["total"] + latest["D2"]["total"]) / 2, abs=0.01)
    assert a1["dimensions"]["openness"] == pytest.approx((20 + 4) / 2)
    assert [a["agency_id"] for a in agency_scores(client, 2026, agency_id="A2")] == ["A2"]
    assert agency_scores(client, 2025) == []


def test_overdue_updates_lists_stale_datasets_only(client):
    load_catalog(client)
    overdue = overdue_updates(client, ReportFilters(AT.date(), AT.date()), at=AT)
    assert [(o["dataset_id"], o["days_overdue"]) for o in overdue] == [("D2", 200 - 36)]
    assert overdue_updates(client, ReportFilters(AT.date(), AT.date(), agency_id="A2"), at=AT) == []


def test_a_file_for_an_unknown_dataset_is_refused_before_anything_is_stored(client, settings, tmp_path):
    load_catalog(client)
    with pytest.raises(UserError, match="No dataset NOPE"):
        scan_catalog(client, settings, {"NOPE": write_file(tmp_path / "x.csv")}, at=AT)
    assert client.query("SELECT count() FROM quality_checks").result_rows == [(0,)]


def test_files_map_to_datasets_by_name_or_option(tmp_path):
    write_file(tmp_path / "D1.csv")
    write_file(tmp_path / "D3.csv")
    (tmp_path / "notes.md").write_text("ignored")
    assert files_for([tmp_path], None) == {"D1": tmp_path / "D1.csv", "D3": tmp_path / "D3.csv"}
    assert files_for([tmp_path / "D1.csv"], "D2") == {"D2": tmp_path / "D1.csv"}
    with pytest.raises(UserError, match="exactly one"):
        files_for([tmp_path / "D1.csv", tmp_path / "D3.csv"], "D2")
    with pytest.raises(UserError, match="No such file"):
        files_for([tmp_path / "missing.csv"], None)


def test_cli_scan_scores_and_audits(client, settings, tmp_path, monkeypatch):
    import odwatch.cli

    load_catalog(client)
    monkeypatch.setenv("ODWATCH_CLICKHOUSE_DATABASE", settings.clickhouse_database)
    get_settings.cache_clear()
    try:
        path = str(write_file(tmp_path / "D1.csv"))
        result = CliRunner().invoke(odwatch.cli.app, ["quality", "scan", path])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "3 dataset(s) scored, 1 file(s) profiled" in result.output
    assert client.query("SELECT count() FROM quality_checks WHERE profiled = 1").result_rows == [(1,)]
    assert client.query("SELECT action FROM audit_log").result_rows == [("quality.scan",)]
