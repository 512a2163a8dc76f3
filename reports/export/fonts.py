"""The typefaces of every export: 仿宋 body, 黑体 and 楷体 headings (GB/T 9704), from the Fandol
fonts vendored in reports/export/typefaces (GPL with the font exception; see its README.md).

reportlab embeds TrueType outlines only, so the fonts are kept as TrueType conversions of the
Fandol OpenType files; PDFs carry each as an embedded subset, and charts draw with the same
黑体 file through matplotlib. A DOCX names the faces a government PC has (仿宋, 黑体, 楷体).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

TYPEFACES = Path(__file__).resolve().parent / "typefaces"
FANGSONG, HEITI, KAITI = "FandolFang", "FandolHei", "FandolKai"
FILES = {FANGSONG: "FandolFang-Regular.ttf", HEITI: "FandolHei-Regular.ttf", KAITI: "FandolKai-Regular.ttf"}
# The names a DOCX gives Word for each role (the faces of a Chinese Windows or WPS installation).
DOCX_FACES = {FANGSONG: "仿宋", HEITI: "黑体", KAITI: "楷体"}


def font_path(face: str) -> Path:
    path = TYPEFACES / FILES[face]
    if not path.is_file():
        raise FileNotFoundError(f"The typeface {path} is missing; reinstall odwatch.")
    return path


@lru_cache(maxsize=1)
def register_pdf_fonts() -> tuple[str, str, str]:
    """Register the three faces with reportlab once; returns (仿宋, 黑体, 楷体) font names."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for face in FILES:
        pdfmetrics.registerFont(TTFont(face, str(font_path(face))))
    return FANGSONG, HEITI, KAITI


@lru_cache(maxsize=1)
def chart_font():
    """A matplotlib FontProperties on the 黑体 face, for titles, labels and ticks."""
    from matplotlib.font_manager import FontProperties, fontManager

    fontManager.addfont(str(font_path(HEITI)))
    return FontProperties(fname=str(font_path(HEITI)))
