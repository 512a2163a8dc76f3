"""Render a `Document` as DOCX with python-docx: an A4 section with GB/T 9704 margins, 仿宋 body
(三号, 22 lines a page), 黑体 and 楷体 headings, page numbers "— n —" (odd pages right, even pages
left), real tables and embedded PNG charts.

Word picks the East Asian face from `w:eastAsia`; each style names the face a Chinese government
PC has (仿宋, 黑体, 楷体), Latin text and digits in Times New Roman.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Mm, Pt, RGBColor

from reports.export import document as doc
from reports.export.fonts import DOCX_FACES, FANGSONG, HEITI, KAITI

LATIN = "Times New Roman"
BODY_SIZE = Pt(16)
LINE = Pt(28.9)
CELL_SIZE = Pt(10.5)
# (style, face, size, alignment)
STYLES = {
    "Normal": (FANGSONG, BODY_SIZE),
    "Title": (HEITI, Pt(22)),
    "Subtitle": (KAITI, BODY_SIZE),
    "Heading 1": (HEITI, BODY_SIZE),
    "Heading 2": (KAITI, BODY_SIZE),
    "Heading 3": (FANGSONG, BODY_SIZE),
    "Caption": (FANGSONG, Pt(12)),
}


def _set_faces(style, face: str) -> None:
    style.font.name = LATIN
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attribute in ("w:ascii", "w:hAnsi"):
        fonts.set(qn(attribute), LATIN)
    fonts.set(qn("w:eastAsia"), DOCX_FACES[face])
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def _styles(docx) -> None:
    for name, (face, size) in STYLES.items():
        style = docx.styles[name]
        _set_faces(style, face)
        style.font.size = size
        style.font.bold = False
        style.font.italic = False
        style.font.color.rgb = RGBColor(0, 0, 0)
        fmt = style.paragraph_format
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(36) if name == "Title" else LINE
        fmt.space_before = fmt.space_after = Pt(0)
        if name in ("Normal", "Heading 1", "Heading 2", "Heading 3"):
            fmt.first_line_indent = Pt(32)
    docx.styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    docx.styles["Subtitle"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    docx.styles["Caption"].paragraph_format.first_line_indent = Pt(0)


def _page_setup(docx, landscape: bool) -> None:
    section = docx.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
        section.left_margin, section.right_margin = Mm(37), Mm(35)
        section.top_margin, section.bottom_margin = Mm(28), Mm(26)
    docx.settings.odd_and_even_pages_header_footer = True
    for footer, alignment in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = alignment
        paragraph.paragraph_format.first_line_indent = Pt(0)
        _page_field(paragraph)


def _page_field(paragraph) -> None:
    """ "— n —" with n Word's PAGE field, in 4号 (14 pt): a field is XML inside runs (Run.element)."""

    def run(text: str = ""):
        added = paragraph.add_run(text)
        added.font.size = Pt(14)
        return added

    run("— ")
    run().element.append(parse_xml(f'<w:fldChar {nsdecls("w")} w:fldCharType="begin"/>'))
    run().element.append(parse_xml(f'<w:instrText {nsdecls("w")} xml:space="preserve"> PAGE </w:instrText>'))
    run().element.append(parse_xml(f'<w:fldChar {nsdecls("w")} w:fldCharType="separate"/>'))
    run("1")
    run().element.append(parse_xml(f'<w:fldChar {nsdecls("w")} w:fldCharType="end"/>'))
    run(" —")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _cell_xml(value: str, bold: bool) -> str:
    lines = _CONTROL.sub("", value).split("\n")
    face = DOCX_FACES[HEITI if bold else FANGSONG]
    faces = f'<w:rFonts w:ascii="{LATIN}" w:hAnsi="{LATIN}" w:eastAsia="{face}"/>'
    run_props = f'<w:rPr>{faces}<w:sz w:val="21"/></w:rPr>'
    para_props = '<w:pPr><w:spacing w:line="300" w:lineRule="auto"/><w:ind w:firstLine="0"/></w:pPr>'
    paragraphs = "".join(
        f'<w:p>{para_props}<w:r>{run_props}<w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>'
        for line in lines
    )
    return f"<w:tc>{paragraphs}</w:tc>"


def _row_xml(values: list[str], header: bool) -> str:
    row_props = "<w:trPr><w:tblHeader/></w:trPr>" if header else ""
    return f"<w:tr>{row_props}{''.join(_cell_xml(v, header) for v in values)}</w:tr>"


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
    docx.add_picture(io.BytesIO(block.png), width=Cm(min(block.width_cm, 15.6)))
    picture = docx.paragraphs[-1]
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture.paragraph_format.first_line_indent = Pt(0)
    picture.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    caption = docx.add_paragraph(block.caption, style="Caption")
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _paragraph(docx, block: doc.Paragraph) -> None:
    if block.style == "title":
        docx.add_paragraph(block.text, style="Title")
    elif block.style == "subtitle":
        docx.add_paragraph(block.text, style="Subtitle")
    elif block.style == "small":
        docx.add_paragraph(block.text, style="Caption")
    elif block.style in ("center", "signature"):
        paragraph = docx.add_paragraph(block.text)
        paragraph.alignment = (
            WD_ALIGN_PARAGRAPH.CENTER if block.style == "center" else WD_ALIGN_PARAGRAPH.RIGHT
        )
        paragraph.paragraph_format.first_line_indent = Pt(0)
        if block.style == "signature":
            paragraph.paragraph_format.right_indent = Pt(64)
    else:
        docx.add_paragraph(block.text)


def write_docx(document: doc.Document, out: Path | io.BytesIO) -> None:
    docx = DocxDocument()
    _styles(docx)
    _page_setup(docx, document.landscape)
    docx.core_properties.title = document.title
    docx.core_properties.author = ""
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
