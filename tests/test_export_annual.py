"""The annual report written in each format and read back with an independent reader."""

from datetime import date

import openpyxl
import polars as pl
import pytest
from docx import Document
from pypdf import PdfReader
from evaluation_year import TODAY, build_two_agency_year, shared_year

from odwatch.errors import UserError
from reports.evaluation import evaluate_year
from reports.export.annual import render_annual, write_annual_report
from reports.export.tables import dataframe_to_csv_bytes, dataframe_to_xlsx_bytes


@pytest.fixture(scope="module")
def evaluation():
    client, settings = shared_year()
    return evaluate_year(client, settings, 2025, today=TODAY)


def _embedded_fonts(reader: PdfReader) -> dict[str, bool]:
    """BaseFont -> whether its descriptor carries the font program (FontFile2 for TrueType)."""
    fonts = {}
    for page in reader.pages:
        for ref in page["/Resources"].get("/Font", {}).values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[str(font["/BaseFont"])] = embedded
    return fonts


def test_pdf_has_the_chinese_names_as_text_in_an_embedded_font(evaluation, tmp_path):
    out = render_annual(evaluation, "pdf", tmp_path / "annual.pdf")
    reader = PdfReader(out)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("市交通委员会", "市卫生健康委员会", "2025 年度公共数据开放工作评估报告", "失分原因",
                     "附件一", "医疗机构名录", "字段缺少说明", "第三十一条(二)"):
        assert expected in text
    fonts = _embedded_fonts(reader)
    assert fonts and all(fonts.values()), fonts           # every font used is embedded
    assert all("SimHei" in name for name in fonts)


def test_docx_has_headings_tables_and_charts(evaluation, tmp_path):
    out = render_annual(evaluation, "docx", tmp_path / "annual.docx")
    document = Document(out)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "二、排名" in headings and "4.1 市交通委员会" in headings and "4.2 市卫生健康委员会" in headings
    ranking = next(t for t in document.tables if t.rows[0].cells[1].text == "数据开放主体")
    assert [ranking.rows[i].cells[1].text for i in (1, 2)] == ["市交通委员会", "市卫生健康委员会"]
    assert ranking.rows[1].cells[2].text == "79.25" and ranking.rows[1].cells[3].text == "良好"
    assert len(document.inline_shapes) == 3               # the three charts, as pictures


def test_xlsx_holds_every_table_with_typed_columns(evaluation, tmp_path):
    out = render_annual(evaluation, "xlsx", tmp_path / "annual.xlsx")
    workbook = openpyxl.load_workbook(out)
    assert {"关键指标", "排名", "得分明细", "最差数据集", "违规记录"} <= set(workbook.sheetnames)
    rows = list(workbook["排名"].iter_rows(values_only=True))
    header = rows[0]
    first = dict(zip(header, rows[1], strict=True))
    assert first["agency"] == "市交通委员会" and first["total"] == pytest.approx(79.25)
    assert isinstance(first["rank"], int) and isinstance(first["total"], float)
    assert first["capped"] is False
    details = list(workbook["得分明细"].iter_rows(values_only=True))
    assert len(details) == 1 + 14
    points = workbook["得分明细"].cell(row=2, column=details[0].index("points") + 1)
    assert points.data_type == "n" and points.value == 15
    violations = list(workbook["违规记录"].iter_rows(values_only=True))
    recorded = violations[1][violations[0].index("recorded_at")]
    assert recorded.date() == date(2025, 11, 20) and recorded.hour == 10    # Shanghai wall clock


def test_write_annual_report_from_the_warehouse_and_bad_formats(client, settings, tmp_path):
    build_two_agency_year(client)
    out = write_annual_report(client, settings, 2025, "xlsx", tmp_path / "sub" / "r.xlsx")
    assert out.is_file() and openpyxl.load_workbook(out)["排名"].max_row == 3
    with pytest.raises(UserError):
        write_annual_report(client, settings, 2025, "odt", tmp_path / "r.odt")
    with pytest.raises(UserError):
        write_annual_report(client, settings, 2025, "pdf", tmp_path)       # a directory


def test_table_helpers_round_trip_types_and_chinese():
    df = pl.DataFrame({"名称": ["交通", "卫生"], "calls": [3, 4], "share": [0.5, 0.25],
                       "day": [date(2025, 1, 2), None], "fields": [["a"], ["b", "c"]]})
    import io
    sheet = openpyxl.load_workbook(io.BytesIO(dataframe_to_xlsx_bytes(df))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("名称", "calls", "share", "day", "fields")
    assert values[1][1] == 3 and values[1][2] == 0.5 and values[1][3].date() == date(2025, 1, 2)
    assert values[2][4] == '["b", "c"]'
    csv = dataframe_to_csv_bytes(df)
    assert csv.startswith(b"\xef\xbb\xbf") and "卫生" in csv.decode("utf-8-sig")


MANY_AGENCIES = [
    """INSERT INTO agencies (agency_id, name, name_en, kind)
       SELECT concat('g', toString(number)), concat('第', toString(number), '区数据局'), '', 'district'
       FROM numbers(60)""",
    """INSERT INTO datasets (dataset_id, agency_id, name, domain, open_class, format, fields,
                             update_frequency, published_at, last_updated)
       SELECT concat('s', toString(number)), concat('g', toString(number % 60)),
              concat('数据集', toString(number)),
              ['交通', '卫生', '经济'][number % 3 + 1], 'unconditional', 'csv', '[]', 'monthly', '2025-01-01',
              toDateTime('2025-12-01 00:00:00', 'Asia/Shanghai') - toIntervalDay(number)
       FROM numbers(180)""",
]


def test_sixty_agencies_fit_the_pdf_and_keep_their_order(client, settings, tmp_path):
    for statement in MANY_AGENCIES:
        client.command(statement)
    evaluation = evaluate_year(client, settings, 2025, today=TODAY)
    assert len(evaluation.agencies) == 60
    reader = PdfReader(render_annual(evaluation, "pdf", tmp_path / "many.pdf"))
    text = "".join(page.extract_text() for page in reader.pages)
    assert all(f"第{n}区数据局" in text for n in range(60))
    ranks = [a.rank for a in evaluation.agencies]
    assert ranks == sorted(ranks) and ranks[0] == 1
