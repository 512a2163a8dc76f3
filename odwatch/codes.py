"""The unified social credit code (统一社会信用代码, GB 32100-2015): the one check everybody uses.

Eighteen characters: registration authority (1), organisation type (1), administrative
division (6 digits), organisation code (9), check character (1). The check character is
`ALPHABET[(31 - Σ value_i × 3^(i-1) mod 31) mod 31]` over the first seventeen.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
DIVISION_POSITIONS = range(2, 8)          # zero-based: the administrative division code, digits only
SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")


def check_char(first17: str) -> str:
    """The 18th character that makes `first17` a valid code."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17[:17], WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: object) -> bool:
    """True for an 18-character code of the GB 32100 shape whose check character is right."""
    return isinstance(code, str) and SHAPE.fullmatch(code) is not None and check_char(code) == code[17]
