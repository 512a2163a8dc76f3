"""A small document model shared by the PDF and DOCX writers.

Each report (annual assessment, consumer usage report, public notice) is built
once as a list of blocks; `pdf_writer` and `docx_writer` each render any list
of blocks, so the two formats always carry the same content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from odwatch.clock import SHANGHAI


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Paragraph:
    text: str
    style: str = "body"          # title | subtitle | body | small


@dataclass
class Table:
    headers: list[str]
    rows: list[list]
    widths: list[float] | None = None   # relative column widths
    note: str = ""


@dataclass
class Image:
    png: bytes
    caption: str
    width_cm: float = 16.0


@dataclass
class PageBreak:
    pass


@dataclass
class Document:
    title: str
    blocks: list = field(default_factory=list)
    landscape: bool = False            # wide tables (the public notice) print across the page

    def add(self, *blocks) -> Document:
        self.blocks.extend(blocks)
        return self


def cell_text(value) -> str:
    """How a value reads in a printed table: Shanghai times, two decimals, 是/否, — for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        local = value.astimezone(SHANGHAI) if value.tzinfo else value
        return local.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
