"""The public notice (reports/export/notice.py) as PDF, CSV and DOCX, written and read back: companies
named with their credit code, natural persons masked, nothing unpublished and no address."""

from __future__ import annotations

from docx import Document
from pypdf import PdfReader
from violation_records import add_violation_records

from reports.export.notice import write_public_notice


def test_public_notice_pdf_and_csv_carry_no_personal_data(client, tmp_path):
    add_violation_records(client)
    reader = PdfReader(write_public_notice(client, "pdf", tmp_path / "n.pdf"))
    # Table cells wrap, so compare without the line breaks.
    text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
    assert "上海某某科技有限公司" in text and "91310000MA1FL0BQ3X" in text and "欧***" in text
    assert "欧阳小明" not in text and "10.1.2.3" not in text and "未公示" not in text
    data = write_public_notice(client, "csv", tmp_path / "n.csv").read_text(encoding="utf-8-sig")
    assert data.splitlines()[0].startswith("主体名称,统一社会信用代码") and data.count("\n") == 3
    docx = Document(write_public_notice(client, "docx", tmp_path / "n.docx"))
    assert len(docx.tables[0].rows) == 3
