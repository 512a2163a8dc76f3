"""The document model of every exported report, in the habits of a 公文 (GB/T 9704).

A report is built once as a list of blocks; `pdf_writer` and `docx_writer` each render any
list of blocks, so the two formats always carry the same content. Numbering is part of the
text (一、 (一) 1. (1), from `number`), as in a written 公文; the writers give each heading level
its face (一、 黑体, (一) 楷体, body 仿宋), print page numbers (— 1 —) and put the issuing
body and the date (落款) at the end of the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from odwatch.clock import SHANGHAI

NUMERALS = "〇一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 25 → 二十五 (up to 99)."""
    if n < 10:
        return NUMERALS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else NUMERALS[tens]) + "十" + (NUMERALS[ones] if ones else "")


def number(level: int, n: int) -> str:
    """The 公文 sequence of a heading level: 一、 (一) 1. (1)."""
    if level == 1:
        return f"{chinese_number(n)}、"
    if level == 2:
        return f"（{chinese_number(n)}）"
    if level == 3:
        return f"{n}．"
    return f"（{n}）"


@dataclass
class Heading:
    text: str
    level: int = 1          # 1: 一、 黑体; 2: (一) 楷体; 3: 1. 仿宋


@dataclass
class Paragraph:
    text: str
    style: str = "body"     # title | subtitle | body | small | center | signature


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
    width_cm: float = 15.6


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
        return f"{value + 0.0:,.2f}" if round(value, 2) != 0 else "0.00"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        local = value.astimezone(SHANGHAI) if value.tzinfo else value
        return local.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
