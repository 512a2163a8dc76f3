"""The CJK font every export uses: SimHei, a TrueType font shipped by mplfonts.

reportlab embeds TrueType outlines only (not the CFF outlines of the Noto/Source
Han .otf files), so PDFs use SimHei.ttf and carry it as an embedded subset: the
Chinese text renders the same in every viewer, with no substitution. Charts use
the same file through matplotlib, and DOCX names it as the East Asian font.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import mplfonts

CJK_FONT_NAME = "SimHei"


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    path = Path(mplfonts.__file__).parent / "fonts" / "SimHei.ttf"
    if not path.is_file():
        raise FileNotFoundError(f"The CJK font {path} is missing; reinstall mplfonts.")
    return path


@lru_cache(maxsize=1)
def register_pdf_font() -> str:
    """Register SimHei with reportlab once; returns the font name to use in styles."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(CJK_FONT_NAME, str(cjk_font_path())))
    return CJK_FONT_NAME


@lru_cache(maxsize=1)
def chart_font():
    """A matplotlib FontProperties on SimHei, for titles, labels and ticks."""
    from matplotlib.font_manager import FontProperties, fontManager

    fontManager.addfont(str(cjk_font_path()))
    return FontProperties(fname=str(cjk_font_path()))
