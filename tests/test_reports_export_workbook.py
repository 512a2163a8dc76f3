"""The workbook writer of the exports (reports/export/workbook.py): text is written as text, never as a
formula or a number, and typed columns keep their type."""

from __future__ import annotations

from datetime import date

import openpyxl

from reports.export.workbook import Column, Sheet, write_workbook


def test_text_is_written_as_text_never_as_a_formula(tmp_path):
    sheet = Sheet(
        "表",
        [Column("名称"), Column("编号"), Column("数量", "int"), Column("日期", "date")],
        [['=HYPERLINK("http://x")', "0012", 3, date(2026, 1, 2)], ["+1", "1e5", None, None]],
    )
    write_workbook(tmp_path / "t.xlsx", [sheet])
    rows = list(openpyxl.load_workbook(tmp_path / "t.xlsx").active.iter_rows(values_only=True))
    assert rows[1][:3] == ('=HYPERLINK("http://x")', "0012", 3) and rows[1][3].date() == date(2026, 1, 2)
    assert rows[2][:2] == ("+1", "1e5")
    cell = openpyxl.load_workbook(tmp_path / "t.xlsx").active["A2"]
    assert cell.data_type == "s"
