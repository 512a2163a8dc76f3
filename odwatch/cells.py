"""Cells of exported files that a spreadsheet opens.

A text cell that starts with =, +, -, @, a tab or a carriage return is read by Excel, WPS and
LibreOffice as a formula (or a DDE command): a consumer named `=HYPERLINK("http://…")` would become
a live link in a public notice. OWASP's advice is to prefix such a cell with an apostrophe; numbers
stay numbers. Every CSV writer of the product goes through here.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_START_PATTERN = r"^[=+\-@\t\r]"


def neutralise_formula(value: object) -> object:
    """One cell: text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
