"""Render a `Document` as DOCX with python-docx: real headings, tables and embedded PNG charts.

Word picks the East Asian font from `w:eastAsia`; naming SimHei there (and on the
heading styles) keeps Chinese text in one typeface in Word and LibreOffice.
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from reports.export import document as doc
from reports.export.fonts import CJK_FONT_NAME


def _set_east_asian_font(style) -> None:
    style.font.name = CJK_FONT_NAME
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), CJK_FONT_NAME)


def _new_document():
    docx = DocxDocument()
    for name in ("Normal", "Title", "Subtitle", "Caption", "Heading 1", "Heading 2", "Heading 3"):
        _set_east_asian_font(docx.styles[name])
    docx.styles["Normal"].font.size = Pt(10.5)
    return docx


def _table(docx, block: doc.Table) -> None:
    table = docx.add_table(rows=1, cols=len(block.headers))
    table.style = "Table Grid"
    for cell, header in zip(table.rows[0].cells, block.headers, strict=True):
        cell.text = header
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in block.rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = doc.cell_text(value)
    if block.note:
        docx.add_paragraph(block.note, style="Caption")


def _image(docx, block: doc.Image) -> None:
    docx.add_picture(io.BytesIO(block.png), width=Cm(min(block.width_cm, 16)))
    docx.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption = docx.add_paragraph(block.caption, style="Caption")
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _paragraph(docx, block: doc.Paragraph) -> None:
    if block.style == "title":
        docx.add_paragraph(block.text, style="Title").alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif block.style == "subtitle":
        docx.add_paragraph(block.text, style="Subtitle").alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif block.style == "small":
        docx.add_paragraph(block.text, style="Caption")
    else:
        docx.add_paragraph(block.text)


def write_docx(document: doc.Document, out: Path | io.BytesIO) -> None:
    docx = _new_document()
    docx.core_properties.title = document.title
    docx.core_properties.author = "Open Data Watch"
    if document.landscape:
        section = docx.sections[0]
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    for block in document.blocks:
        if isinstance(block, doc.Heading):
            docx.add_heading(block.text, level=min(block.level, 3))
        elif isinstance(block, doc.Paragraph):
            _paragraph(docx, block)
        elif isinstance(block, doc.Table):
            _table(docx, block)
        elif isinstance(block, doc.Image):
            _image(docx, block)
        elif isinstance(block, doc.PageBreak):
            docx.add_page_break()
    docx.save(out if isinstance(out, io.BytesIO) else str(out))
