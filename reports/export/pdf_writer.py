"""Render a `Document` as PDF with reportlab, every glyph from the embedded SimHei subset."""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Image as RLImage
from reportlab.platypus import LongTable, PageBreak, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Paragraph as RLParagraph

from reports.export import document as doc
from reports.export.fonts import register_pdf_font

MARGIN = 1.8 * cm
CELL_FONT_SIZE = 8
CELL_PADDING = 3
MAX_IMAGE_HEIGHT = 22 * cm


def _styles(font: str) -> dict[str, ParagraphStyle]:
    # wordWrap="CJK" breaks lines between Chinese characters, which have no spaces.
    base = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK", spaceAfter=4)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10.5, spaceAfter=0),
        "head": ParagraphStyle("head", parent=base, fontSize=8, leading=10.5, spaceAfter=0,
                               textColor=colors.white),
        "title": ParagraphStyle("title", parent=base, fontSize=24, leading=34, alignment=TA_CENTER,
                                spaceBefore=5 * cm, spaceAfter=20),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=14, leading=22, alignment=TA_CENTER),
        "caption": ParagraphStyle("caption", parent=base, fontSize=9, alignment=TA_CENTER, spaceAfter=10),
        1: ParagraphStyle("h1", parent=base, fontSize=16, leading=24, spaceBefore=12, spaceAfter=8),
        2: ParagraphStyle("h2", parent=base, fontSize=13, leading=20, spaceBefore=10, spaceAfter=6),
        3: ParagraphStyle("h3", parent=base, fontSize=11, leading=17, spaceBefore=8, spaceAfter=4),
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


def _table(block: doc.Table, styles: dict, width: float, font: str) -> list:
    widths = block.widths or [1.0] * len(block.headers)
    columns = [w * width / sum(widths) for w in widths]
    data = [[_para(h, styles["head"]) for h in block.headers]]
    data += [[_cell(v, w, styles) for v, w in zip(row, columns, strict=True)] for row in block.rows]
    table = LongTable(data, colWidths=columns, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), CELL_FONT_SIZE),
        ("LEADING", (0, 0), (-1, -1), CELL_FONT_SIZE + 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e79")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef3f8")]),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9aa9b8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    flow = [table]
    if block.note:
        flow.append(_para(block.note, styles["small"]))
    return flow + [Spacer(1, 6)]


def _image(block: doc.Image, styles: dict, width: float) -> list:
    picture = RLImage(io.BytesIO(block.png))
    # Fit the width, and the page height: the ranking of ~50 agencies is a tall chart.
    scale = min(min(width, block.width_cm * cm) / picture.imageWidth, MAX_IMAGE_HEIGHT / picture.imageHeight)
    picture.drawWidth, picture.drawHeight = picture.imageWidth * scale, picture.imageHeight * scale
    return [picture, _para(block.caption, styles["caption"])]


def _flowables(document: doc.Document, styles: dict, width: float, font: str) -> list:
    flow: list = []
    for block in document.blocks:
        if isinstance(block, doc.Heading):
            flow.append(_para(block.text, styles[min(block.level, 3)]))
        elif isinstance(block, doc.Paragraph):
            flow.append(_para(block.text, styles.get(block.style, styles["body"])))
        elif isinstance(block, doc.Table):
            flow.extend(_table(block, styles, width, font))
        elif isinstance(block, doc.Image):
            flow.extend(_image(block, styles, width))
        elif isinstance(block, doc.PageBreak):
            flow.append(PageBreak())
    return flow


def write_pdf(document: doc.Document, out: Path | io.BytesIO) -> None:
    font = register_pdf_font()
    styles = _styles(font)

    pagesize = landscape(A4) if document.landscape else A4

    def page_number(canvas, template) -> None:
        canvas.setFont(font, 8)
        canvas.drawRightString(pagesize[0] - MARGIN, MARGIN / 2, f"{document.title}  第 {template.page} 页")

    target = str(out) if isinstance(out, Path) else out
    template = SimpleDocTemplate(target, pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN,
                                 topMargin=MARGIN, bottomMargin=MARGIN, title=document.title,
                                 author="Open Data Watch", initialFontName=font)
    flow = _flowables(document, styles, pagesize[0] - 2 * MARGIN, font)
    template.build(flow, onFirstPage=page_number, onLaterPages=page_number)
