"""Exported documents read back as the text a reader sees (PDF, DOCX, XLSX), and what must never be in
it: a code name (an identifier like `review_sla` or `alerts.scraping`) or a stored enum word (a role,
a severity, `conditional`, `None`...)."""

from __future__ import annotations

import re

import openpyxl
from docx import Document
from pypdf import PdfReader

from odwatch import vocabulary
from reports.quality import FORMAT_OPENNESS, FREQUENCY_DAYS

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[._][A-Za-z0-9]+)+")
ENUM_WORDS = sorted(
    {
        *vocabulary.ROLES,
        *vocabulary.SEVERITIES,
        *vocabulary.CONSUMER_KINDS,
        *vocabulary.MEASURES,
        *vocabulary.ALERT_CATEGORIES,
        *FREQUENCY_DAYS,
        "static",
        "unconditional",
        "conditional",
        "closed",
        "open",
        "suspended",
        "withdrawn",
        "restored",
        "reopened",
        "pending",
        "approved",
        "rejected",
        "not_accepted",
        "trade_secret",
        "privacy",
        "other",
        "published",
        "final",
        "draft",
        "scored",
        "unmeasured",
        "not_applicable",
        "True",
        "False",
        "None",
        "null",
        *[f for f in FORMAT_OPENNESS if f.isalpha()],
    },
    key=len,
    reverse=True,
)
ENUM = re.compile(r"(?<![A-Za-z])(" + "|".join(ENUM_WORDS) + r")(?![A-Za-z])")


def pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def docx_text(path) -> str:
    document = Document(path)
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    parts += [p.text for section in document.sections for p in section.footer.paragraphs]
    return "\n".join(parts)


def xlsx_text(path) -> str:
    workbook = openpyxl.load_workbook(path)
    parts = list(workbook.sheetnames)
    for sheet in workbook.worksheets:
        parts += [str(v) for row in sheet.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    return "\n".join(parts)


def text_of(path, fmt: str) -> str:
    """The text of an exported file of format `fmt` (pdf, docx or xlsx)."""
    return {"pdf": pdf_text, "docx": docx_text, "xlsx": xlsx_text}[fmt](path)


def code_words(text: str) -> list[str]:
    """The code names and stored enum words in `text`: a document a reader gets has none."""
    return IDENTIFIER.findall(text) + ENUM.findall(text)
