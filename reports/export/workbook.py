"""An XLSX workbook an analyst can filter: one sheet per table, Chinese headers, typed cells.

Each column says what it holds (`Column.kind`), and every cell is written as that type through
xlsxwriter's typed writers: text always as text (never read as a formula, a number or a link —
`strings_to_formulas` and its siblings are off), numbers as numbers with a display format, dates
as dates, yes/no as 是/否. The header row is frozen and carries an autofilter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import xlsxwriter

from odwatch.clock import SHANGHAI

KINDS = ("text", "int", "number", "percent", "date", "datetime", "bool")
FORMATS = {"int": "#,##0", "number": "#,##0.00", "percent": "0.0%", "date": "yyyy-mm-dd",
           "datetime": "yyyy-mm-dd hh:mm"}
SHEET_NAME_MAX = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
           "strings_to_urls": False, "remove_timezone": True}


@dataclass
class Column:
    header: str
    kind: str = "text"
    width: float | None = None      # in characters; None: fitted to the content


@dataclass
class Sheet:
    name: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)


def _display_width(text: str) -> float:
    return sum(2.0 if ord(ch) > 0x2E80 else 1.1 for ch in text)


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub("-", name).strip() or "表"
    candidate, n = base[:SHEET_NAME_MAX], 2
    while candidate in taken:
        suffix = f"（{n}）"
        candidate, n = base[: SHEET_NAME_MAX - len(suffix)] + suffix, n + 1
    taken.add(candidate)
    return candidate


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "；".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _write_cell(worksheet, row: int, col: int, value: Any, kind: str, formats: dict) -> str:
    """Write one cell as its column's type; returns the text it shows (for the column width)."""
    if value is None or value == "":
        worksheet.write_blank(row, col, None, formats.get(kind))
        return ""
    if kind == "text":
        text = _text(value)
        worksheet.write_string(row, col, text)
        return text
    if kind == "bool":
        text = "是" if value else "否"
        worksheet.write_string(row, col, text)
        return text
    if kind in ("date", "datetime"):
        moment = value
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
        if isinstance(moment, datetime):
            moment = moment.astimezone(SHANGHAI).replace(tzinfo=None) if moment.tzinfo else moment
        elif isinstance(moment, date):
            moment = datetime.combine(moment, time(0))
        worksheet.write_datetime(row, col, moment, formats[kind])
        return moment.strftime("%Y-%m-%d %H:%M" if kind == "datetime" else "%Y-%m-%d")
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        kind = "int"  # a count among measures (关键指标) shows 48, not 48.00
    worksheet.write_number(row, col, float(value), formats[kind])
    return f"{value:,}" if kind == "int" else f"{float(value):,.2f}"


def write_workbook(target: str | Path | Any, sheets: list[Sheet]) -> None:
    """Write each sheet to one workbook (a path or a binary buffer)."""
    workbook = xlsxwriter.Workbook(str(target) if isinstance(target, Path) else target, OPTIONS)
    with workbook:
        header = workbook.add_format({"bold": True, "bg_color": "#E8E8E8", "border": 1, "text_wrap": True,
                                      "valign": "vcenter"})
        formats = {kind: workbook.add_format({"num_format": spec}) for kind, spec in FORMATS.items()}
        taken: set[str] = set()
        for sheet in sheets:
            for column in sheet.columns:
                if column.kind not in KINDS:
                    raise ValueError(f"Unknown column kind {column.kind!r}; use one of {KINDS}.")
            worksheet = workbook.add_worksheet(_sheet_name(sheet.name, taken))
            widths = [_display_width(c.header) for c in sheet.columns]
            for col, column in enumerate(sheet.columns):
                worksheet.write_string(0, col, column.header, header)
            for r, values in enumerate(sheet.rows, start=1):
                for col, (value, column) in enumerate(zip(values, sheet.columns, strict=True)):
                    shown = _write_cell(worksheet, r, col, value, column.kind, formats)
                    widths[col] = max(widths[col], min(_display_width(shown), 80))
            for col, column in enumerate(sheet.columns):
                worksheet.set_column(col, col, column.width or min(max(widths[col] + 2, 8), 60))
            worksheet.freeze_panes(1, 0)
            if sheet.columns:
                worksheet.autofilter(0, 0, max(len(sheet.rows), 1), len(sheet.columns) - 1)
