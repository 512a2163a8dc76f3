"""Render a `Document` as PDF with reportlab: A4, GB/T 9704 margins and faces, every glyph from
the embedded Fandol subsets, page numbers "— n —" outside (odd pages right, even pages left)."""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image as RLImage
from reportlab.platypus import LongTable, PageBreak, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Paragraph as RLParagraph

from reports.export import document as doc
from reports.export.fonts import register_pdf_fonts

# GB/T 9704-2012 5.2: top 37 mm, binding side 28 mm, type area 156 × 225 mm.
TOP, LEFT, RIGHT, BOTTOM = 37 * mm, 28 * mm, 26 * mm, 35 * mm
BODY_SIZE = 16  # 三号
LEADING = 28.9  # 22 lines in the 225 mm type area
CELL_FONT_SIZE = 10.5  # 五号 in tables
CELL_PADDING = 3
MAX_IMAGE_HEIGHT = 200 * mm


def _styles(fang: str, hei: str, kai: str) -> dict:
    # wordWrap="CJK" breaks lines between Chinese characters, which have no spaces.
    body = ParagraphStyle(
        "body",
        fontName=fang,
        fontSize=BODY_SIZE,
        leading=LEADING,
        wordWrap="CJK",
        firstLineIndent=2 * BODY_SIZE,
        alignment=TA_JUSTIFY,
    )
    plain = ParagraphStyle("plain", parent=body, firstLineIndent=0)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=plain, fontSize=12, leading=20),
        "center": ParagraphStyle("center", parent=plain, alignment=TA_CENTER),
        "signature": ParagraphStyle("signature", parent=plain, alignment=TA_RIGHT, rightIndent=4 * BODY_SIZE),
        "cell": ParagraphStyle("cell", parent=plain, fontSize=CELL_FONT_SIZE, leading=14),
        "head": ParagraphStyle("head", parent=plain, fontName=hei, fontSize=CELL_FONT_SIZE, leading=14),
        "title": ParagraphStyle(
            "title",
            parent=plain,
            fontName=hei,
            fontSize=22,
            leading=36,
            alignment=TA_CENTER,
            spaceBefore=10 * mm,
            spaceAfter=LEADING,
        ),
        "subtitle": ParagraphStyle("subtitle", parent=plain, fontName=kai, alignment=TA_CENTER),
        "caption": ParagraphStyle("caption", parent=plain, fontSize=12, leading=20, alignment=TA_CENTER),
        1: ParagraphStyle("h1", parent=body, fontName=hei),
        2: ParagraphStyle("h2", parent=body, fontName=kai),
        3: ParagraphStyle("h3", parent=body),
    }


def _para(text: str, style: ParagraphStyle) -> RLParagraph:
    return RLParagraph(escape(text).replace("\n", "<br/>"), style)


def _fits(text: str, width: float) -> bool:
    """Whether text fits one line of a cell: full-width characters take a whole em, others about half."""
    ems = sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in text)
    return "\n" not in text and ems * CELL_FONT_SIZE <= width - 2 * CELL_PADDING


def _cell(value, width: float, styles: dict):
    # A plain string draws without line breaking, a Paragraph wraps: wrapping every cell
    # of a 50-agency report costs seconds, so only text too long for its column wraps.
    text = doc.cell_text(value)
    return text if _fits(text, width) else _para(text, styles["cell"])


def _table(block: doc.Table, styles: dict, width: float, fang: str) -> list:
    widths = block.widths or [1.0] * len(block.headers)
    columns = [w * width / sum(widths) for w in widths]
    data = [[_para(h, styles["head"]) for h in block.headers]]
    data += [[_cell(v, w, styles) for v, w in zip(row, columns, strict=True)] for row in block.rows]
    table = LongTable(data, colWidths=columns, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), fang),
                ("FONTSIZE", (0, 0), (-1, -1), CELL_FONT_SIZE),
                ("LEADING", (0, 0), (-1, -1), 14),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    flow = [table]
    if block.note:
        flow.append(_para(block.note, styles["small"]))
    return flow + [Spacer(1, 8)]


def _image(block: doc.Image, styles: dict, width: float) -> list:
    picture = RLImage(io.BytesIO(block.png))
    scale = min(
        min(width, block.width_cm * 10 * mm) / picture.imageWidth, MAX_IMAGE_HEIGHT / picture.imageHeight
    )
    picture.drawWidth, picture.drawHeight = picture.imageWidth * scale, picture.imageHeight * scale
    return [picture, _para(block.caption, styles["caption"])]


def _flowables(document: doc.Document, styles: dict, width: float, fang: str) -> list:
    flow: list = []
    for block in document.blocks:
        if isinstance(block, doc.Heading):
            flow.append(_para(block.text, styles[min(block.level, 3)]))
        elif isinstance(block, doc.Paragraph):
            flow.append(_para(block.text, styles.get(block.style, styles["body"])))
        elif isinstance(block, doc.Table):
            flow.extend(_table(block, styles, width, fang))
        elif isinstance(block, doc.Image):
            flow.extend(_image(block, styles, width))
        elif isinstance(block, doc.PageBreak):
            flow.append(PageBreak())
    return flow


def write_pdf(document: doc.Document, out: Path | io.BytesIO) -> None:
    fang, hei, kai = register_pdf_fonts()
    styles = _styles(fang, hei, kai)
    pagesize = landscape(A4) if document.landscape else A4
    left, right, top, bottom = (
        (TOP, BOTTOM, LEFT, RIGHT) if document.landscape else (LEFT, RIGHT, TOP, BOTTOM)
    )

    def page_number(canvas, template) -> None:
        # 4号 (14 pt) Arabic numerals with a dash each side, 7 mm below the type area, outside edge.
        canvas.setFont(fang, 14)
        text, y = f"— {template.page} —", bottom - 7 * mm - 14
        if template.page % 2:
            canvas.drawRightString(pagesize[0] - right - 14, y, text)
        else:
            canvas.drawString(left + 14, y, text)

    target = str(out) if isinstance(out, Path) else out
    template = SimpleDocTemplate(
        target,
        pagesize=pagesize,
        leftMargin=left,
        rightMargin=right,
        topMargin=top,
        bottomMargin=bottom,
        title=document.title,
        author="",
        creator="",
        initialFontName=fang,
    )
    flow = _flowables(document, styles, pagesize[0] - left - right, fang)
    template.build(flow, onFirstPage=page_number, onLaterPages=page_number)
