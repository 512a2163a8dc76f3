"""How the TrueType files beside this script were made from the Fandol fonts (a maintainer's
tool; nothing imports it).

The Fandol fonts (FandolFang 仿宋, FandolHei 黑体, FandolKai 楷体; the Fandol team, GPL with the
GPL font exception, see COPYING and README.md) ship as OpenType with CFF outlines, in TeX Live
(CTAN fonts/fandol; Debian's texlive-lang-chinese). reportlab embeds TrueType outlines only, so
each is converted with fontTools: the cubic outlines become quadratic ones (cu2qu, 1 unit of
error in a 1000-unit em), nothing else changes.

    python reports/export/typefaces/make_truetype.py \
        /usr/share/texlive/texmf-dist/fonts/opentype/public/fandol
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

FACES = ("FandolFang-Regular", "FandolHei-Regular", "FandolKai-Regular")
MAX_ERROR = 1.0


def to_truetype(source: Path, target: Path) -> None:
    font = TTFont(str(source))
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, MAX_ERROR, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    font["head"].glyphDataFormat = 0
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attribute in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                      "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attribute, 0)
    maxp.maxZones = 1
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["post"].formatType = 3.0
    font.sfntVersion = "\0\1\0\0"
    font.save(str(target))


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    for face in FACES:
        to_truetype(folder / f"{face}.otf", Path(__file__).parent / f"{face}.ttf")
