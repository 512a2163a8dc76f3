"""The dashboard's components (dashboard/components.py): CSV and XLSX downloads read back with Chinese
text and Shanghai times, a download written to the audit trail, and tables drawn with their two
downloads."""

from __future__ import annotations

import io
import json
from datetime import datetime

import polars as pl
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from dashboard import components
from dashboard.auth import User
from dashboard.session import USER_KEY
from odwatch.clock import SHANGHAI

FRAME = pl.DataFrame({
    "dataset": ["公交线路", "医院名录"],
    "calls": [1200, 35],
    "at": [datetime(2026, 11, 27, 9, 30, tzinfo=SHANGHAI), datetime(2026, 11, 26, 23, 5, tzinfo=SHANGHAI)],
    "fields": [["line", "stop"], []],
    "where": [{"ip": "1.2.3.4"}, {"ip": "5.6.7.8"}],
})


def test_csv_export_reads_back_with_chinese_text_and_shanghai_times():
    data = components.csv_bytes(FRAME)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pl.read_csv(io.BytesIO(data[3:]))
    assert back["dataset"].to_list() == ["公交线路", "医院名录"]
    assert back["calls"].to_list() == [1200, 35]
    assert back["at"].to_list()[1].startswith("2026-11-26T23:05")
    assert back["fields"].to_list() == ["line, stop", ""]


def test_xlsx_export_reads_back():
    sheet = load_workbook(io.BytesIO(components.xlsx_bytes(FRAME, "usage"))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("dataset", "calls", "at", "fields", "where")
    assert rows[1] == ("公交线路", 1200, datetime(2026, 11, 27, 9, 30), "line, stop", '{"ip":"1.2.3.4"}')


def test_producing_a_download_writes_an_export_audit_entry(settings, client):
    produce = components.audited(lambda: components.csv_bytes(FRAME), settings, "olivia", "usage_by_day",
                                 "csv", {"rows": 2})
    data = produce()
    row = client.query("SELECT actor, action, object_id, detail FROM audit_log").result_rows
    assert len(row) == 1
    actor, action, object_id, detail = row[0]
    assert (actor, action, object_id) == ("olivia", "export", "usage_by_day")
    assert json.loads(detail) == {"format": "csv", "bytes": len(data), "rows": 2}


def table_script():
    import polars as pl

    from dashboard.components import table

    table(pl.DataFrame({"dataset": ["公交线路"], "calls": [3]}), "usage", labels={"calls": "调用次数"})
    table(pl.DataFrame({"dataset": []}), "empty")


def run_as_official(script) -> AppTest:
    """The script run by an official (on the environment's database: use the env_client fixture)."""
    at = AppTest.from_function(script, default_timeout=60)
    at.session_state[USER_KEY] = User("olivia", "official")
    at.run()
    assert not at.exception
    return at


def test_table_shows_the_frame_with_two_downloads(env_client):
    at = run_as_official(table_script)
    assert list(at.dataframe[0].value.columns) == ["dataset", "调用次数"]
    assert len(at.dataframe) == 1 and at.info[0].value == "当前筛选条件下没有数据。"
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["下载 CSV", "下载 XLSX"]


def long_table_script():
    import polars as pl

    from dashboard.components import table

    table(pl.DataFrame({"dataset": [f"d{n}" for n in range(5)]}), "long", shown=2)


def test_table_draws_the_first_rows_and_says_how_many_there_are(env_client):
    at = run_as_official(long_table_script)
    assert list(at.dataframe[0].value["dataset"]) == ["d0", "d1"]
    assert at.caption[0].value == "显示前 2 行，共 5 行；下载文件包含全部行。"
    assert len(at.get("download_button")) == 2


def views(client) -> list[tuple]:
    return [(actor, screen, json.loads(detail)["shows"], json.loads(detail)["role"]) for actor, screen, detail
            in client.query("SELECT actor, object_id, detail FROM audit_log WHERE action = 'view' "
                            "ORDER BY seq").result_rows]


def test_screens_with_unmasked_personal_data_are_audited_once_per_session_and_filters(app_client):
    from page_apps import render

    triage = render("triage", User("sam", "security"))
    triage.run()                                          # a rerun with the same filters: no new entry
    assert views(app_client) == [("sam", "triage", ["ip", "names"], "security")]
    render("usage", User("ann", "agency", "A01"))         # an agency sees persons masked: nothing
    render("usage", User("olivia", "official"))
    assert views(app_client)[1:] == [("olivia", "usage", ["names"], "official")]
