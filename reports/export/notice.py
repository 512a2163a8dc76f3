"""The public violation notice (第三十一条 公示) as PDF, DOCX, CSV or JSON.

Only what detectors.violations.public_notice lets out: organisations by name and
credit code, natural persons masked, the category, measure and dates. No IPs,
keys or case descriptions.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors.violations import public_notice
from odwatch import clock
from odwatch.i18n import chinese_date
from reports.export import document as doc
from reports.export.docx_writer import write_docx
from reports.export.files import check_format, write_atomically
from reports.export.pdf_writer import write_pdf
from reports.export.tables import dataframe_to_csv_bytes

NOTICE_FORMATS = ("pdf", "docx", "csv", "json")
HEADERS = {"subject": "主体名称", "credit_code": "统一社会信用代码", "category_label": "违规情形",
           "dataset": "涉及数据", "agency": "数据开放主体", "measure": "处理措施",
           "measure_from": "措施起始", "measure_until": "措施截止", "recorded_on": "记录日期"}
WIDTHS = [0.5, 2, 2, 3, 1.5, 1.5, 1.3, 1.1, 1.1, 1.1]
INTRO = ("依据《上海市公共数据开放实施细则（征求意见稿）》第三十一条，现将数据利用主体在利用公共数据过程中的"
         "违法违规行为及处理措施予以公示。自然人信息已作脱敏处理。")


def notice_document(rows: list[dict]) -> doc.Document:
    today = chinese_date(clock.today())
    table_rows = [[i, *[row[k] if row[k] is not None else ("长期" if k == "measure_until" else None)
                        for k in HEADERS]] for i, row in enumerate(rows, start=1)]
    document = doc.Document("公共数据开放违法违规行为公示", landscape=True)
    return document.add(
        doc.Paragraph("公共数据开放违法违规行为公示", "title"),
        doc.Paragraph(f"发布日期：{today}", "subtitle"),
        doc.Paragraph(INTRO),
        doc.Table(["序号", *HEADERS.values()], table_rows, widths=WIDTHS,
                  note="" if rows else "目前无公示记录。"),
    )


def _frame(rows: list[dict]) -> pl.DataFrame:
    schema = {k: pl.String for k in HEADERS} | {"measure_from": pl.Date, "measure_until": pl.Date,
                                               "recorded_on": pl.Date}
    return pl.DataFrame([{k: row[k] for k in HEADERS} for row in rows], schema=schema).rename(HEADERS)


def write_public_notice(client: Client, fmt: str, out: Path) -> Path:
    """Write the public violation notice as pdf, docx, csv or json."""
    fmt = check_format(fmt, NOTICE_FORMATS)
    rows = public_notice(client)
    if fmt == "csv":
        data = dataframe_to_csv_bytes(_frame(rows))
        return write_atomically(Path(out), lambda tmp: tmp.write_bytes(data))
    if fmt == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=2, default=str)
        return write_atomically(Path(out), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    writer = write_pdf if fmt == "pdf" else write_docx
    document = notice_document(rows)
    return write_atomically(Path(out), lambda tmp: writer(document, tmp))
