"""One message catalog for every label, chart title and message.

The catalog is the merge of every `odwatch/locales/*.<lang>.json` file (each area
keeps its own file, e.g. `shell.zh.json`, `pages.zh.json`). Chinese is the
default; the dashboard switches a session to English by setting this context's language at the
start of each script run (this module knows nothing of Streamlit). Numbers and dates are
formatted in the language's form, times always in Asia/Shanghai.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from odwatch.clock import SHANGHAI
from odwatch.settings import get_settings

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
SESSION_KEY = "lang"

_language: ContextVar[str | None] = ContextVar("odwatch_language", default=None)


@lru_cache(maxsize=len(LANGUAGES))
def catalog(lang: str) -> dict[str, str]:
    """All messages of one language, merged from every locale file."""
    merged: dict[str, str] = {}
    for path in sorted(LOCALES_DIR.glob(f"*.{lang}.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def current_language() -> str:
    """The language of this context: set by the dashboard at the start of each script run from the
    session's choice, by the CLI and exports from their options; else the configured one."""
    return _language.get() or configured_language()


def configured_language() -> str:
    """A new dashboard session's language: the configured one (`language`), if it is one we have."""
    configured = get_settings().language
    return configured if configured in LANGUAGES else DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    """Choose the language of this context (a dashboard script run, a CLI command, an export);
    unknown codes fall back to zh."""
    _language.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


def t(key: str, **fmt: object) -> str:
    """The message for `key` in the current language, with `{name}` fields filled in.

    A key missing from the language falls back to Chinese, then to the key itself,
    so a gap shows up on screen instead of breaking the page.
    """
    lang = current_language()
    text = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
    return text.format(**fmt) if fmt else text


def format_number(x: float | int | None, decimals: int | None = None) -> str:
    """Thousands separators (both languages use `,`); integers without decimals."""
    if x is None:
        return "—"
    if decimals is None:
        decimals = 0 if float(x).is_integer() else 2
    return f"{x:,.{decimals}f}"


def format_percent(x: float | None, decimals: int = 1) -> str:
    """A share 0..1 as a percentage."""
    return "—" if x is None else f"{x * 100:.{decimals}f}%"


def to_shanghai(dt: datetime) -> datetime:
    """Naive values are taken to be Shanghai time already (the warehouse stores that zone)."""
    return dt.replace(tzinfo=SHANGHAI) if dt.tzinfo is None else dt.astimezone(SHANGHAI)


def chinese_date(day: date) -> str:
    """A date in the form Chinese documents write it, whatever the language: 2026年3月1日."""
    return f"{day.year}年{day.month}月{day.day}日"


def format_date(d: date | datetime | None) -> str:
    if d is None:
        return "—"
    if isinstance(d, datetime):
        d = to_shanghai(d).date()
    return chinese_date(d) if current_language() == "zh" else d.isoformat()


def format_datetime(dt: datetime | None, seconds: bool = False) -> str:
    """Date and time in Asia/Shanghai, in the locale's form."""
    if dt is None:
        return "—"
    local = to_shanghai(dt)
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    if current_language() == "zh":
        return f"{local.year}年{local.month}月{local.day}日 {clock}"
    return f"{local.date().isoformat()} {clock}"


def has(key: str) -> bool:
    """True when the key exists in the current language (for optional labels such as column headers)."""
    return key in catalog(current_language())


def labels(columns: list[str], prefix: str) -> dict[str, str]:
    """Display headers for columns: `<prefix>.<column>` where the catalog has one, else the column name."""
    return {column: t(f"{prefix}.{column}") if has(f"{prefix}.{column}") else column for column in columns}
