"""Table exports for the dashboard, the CLI and the reports: CSV and XLSX from polars frames, the one
writer every table download and CSV file goes through.

XLSX cells keep their types (numbers, dates, booleans) because polars writes the
workbook through xlsxwriter from the frame's dtypes. Nested values (lists, dicts)
become JSON text first, as neither a CSV nor a sheet cell can hold them. CSV is
UTF-8 with a byte-order mark so Excel opens Chinese text correctly. A CSV text cell that a
spreadsheet would run as a formula (it starts with =, +, -, @, a tab or a carriage return: a name
like `=HYPERLINK(...)` can reach a public notice) gets a leading apostrophe, as OWASP advises; numbers
stay numbers. XLSX cells need no such care: text is written as text, never as a formula.
"""

from __future__ import annotations

import io
import json
import re

import polars as pl
import xlsxwriter

from odwatch.cells import FORMULA_START_PATTERN
from reports.export.workbook import OPTIONS

SHEET_NAME_MAX = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _to_json(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, pl.Series):
        value = value.to_list()
    return json.dumps(value, ensure_ascii=False, default=str)


def flatten_for_export(df: pl.DataFrame) -> pl.DataFrame:
    """Nested and untyped columns as text; naive local times kept, tz-aware ones in Shanghai."""
    columns = []
    for name, dtype in df.schema.items():
        column = pl.col(name)
        if isinstance(dtype, (pl.List, pl.Array, pl.Struct, pl.Object)):
            column = column.map_elements(_to_json, return_dtype=pl.String)
        elif dtype == pl.Null:
            column = column.cast(pl.String)
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone:
            # Spreadsheets have no time zones: show the city's wall clock.
            column = column.dt.convert_time_zone("Asia/Shanghai").dt.replace_time_zone(None)
        columns.append(column)
    return df.select(columns)


def sheet_name(name: str, taken: set[str] | None = None) -> str:
    """A valid, unique worksheet name (31 characters, none of []:*?/\\)."""
    base = _BAD_SHEET_CHARS.sub("_", name).strip() or "Sheet"
    candidate, n = base[:SHEET_NAME_MAX], 2
    while taken is not None and candidate in taken:
        suffix = f"_{n}"
        candidate, n = base[: SHEET_NAME_MAX - len(suffix)] + suffix, n + 1
    if taken is not None:
        taken.add(candidate)
    return candidate


def write_sheets(target, sheets: dict[str, pl.DataFrame]) -> None:
    """Write each frame to its own typed worksheet of one workbook (a path or a binary buffer)."""
    # The report workbook's options: text stays text (never a formula, a number or a link).
    workbook = xlsxwriter.Workbook(target, OPTIONS)
    taken: set[str] = set()
    with workbook:
        for name, df in sheets.items():
            flat = flatten_for_export(df)
            worksheet = sheet_name(name, taken)
            if flat.width == 0:
                workbook.add_worksheet(worksheet)
                continue
            flat.write_excel(workbook=workbook, worksheet=worksheet, autofit=True,
                             float_precision=2, dtype_formats={pl.Date: "yyyy-mm-dd",
                                                               pl.Datetime: "yyyy-mm-dd hh:mm:ss"})


def dataframe_to_xlsx_bytes(df: pl.DataFrame, sheet: str = "data") -> bytes:
    """One frame as an XLSX file in memory, with typed columns."""
    buffer = io.BytesIO()
    write_sheets(buffer, {sheet: df})
    return buffer.getvalue()


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Every text column of a frame as `odwatch.cells.neutralise_formula` leaves it."""
    texts = [name for name, dtype in df.schema.items() if dtype == pl.String]
    return df.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_START_PATTERN)).then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name)).alias(name)
        for name in texts)


def dataframe_to_csv_bytes(df: pl.DataFrame, byte_order_mark: bool = True) -> bytes:
    """One frame as CSV: UTF-8 (with a BOM for Excel, unless a machine reads it), nested values as
    JSON, formulas neutralised."""
    text = neutralise_formulas(flatten_for_export(df)).write_csv().encode("utf-8")
    return (b"\xef\xbb\xbf" if byte_order_mark else b"") + text


def rows_to_frame(rows: list[dict]) -> pl.DataFrame:
    """Plain dict rows (as the report functions return them) as a frame; values of mixed types as text."""
    if not rows:
        return pl.DataFrame()
    try:
        return pl.DataFrame(rows, infer_schema_length=None)
    except (pl.exceptions.PolarsError, TypeError, ValueError):
        return pl.DataFrame([{k: _to_json(v) if not isinstance(v, str) else v for k, v in r.items()}
                             for r in rows])
