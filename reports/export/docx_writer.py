"""Render a `Document` as DOCX with python-docx: real headings, tables and embedded PNG charts.

Word picks the East Asian font from `w:eastAsia`; naming SimHei there (and on the
heading styles) keeps Chinese text in one typeface in Word and LibreOffice.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
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


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _cell_xml(value: str, run_props: str) -> str:
    lines = _CONTROL.sub("", value).split("\n")
    paragraphs = "".join(f'<w:p><w:r>{run_props}<w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>'
                         for line in lines)
    return f"<w:tc>{paragraphs}</w:tc>"


def _row_xml(values: list[str], header: bool) -> str:
    run_props = "<w:rPr><w:b/></w:rPr>" if header else ""
    row_props = "<w:trPr><w:tblHeader/></w:trPr>" if header else ""
    return f"<w:tr>{row_props}{''.join(_cell_xml(v, run_props) for v in values)}</w:tr>"


def _table(docx, block: doc.Table) -> None:
    # python-docx builds the table (style, grid, widths); the rows are parsed from one XML
    # string, because filling thousands of cells one by one through the API takes seconds.
    table = docx.add_table(rows=0, cols=len(block.headers), style="Table Grid")
    rows = [_row_xml(block.headers, header=True)]
    rows += [_row_xml([doc.cell_text(v) for v in row], header=False) for row in block.rows]
    parsed = parse_xml(f"<w:tbl {nsdecls('w')}>{''.join(rows)}</w:tbl>")
    for row in list(parsed):
        table._tbl.append(row)
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
