"""The message catalog: every key the dashboard uses exists in Chinese and English; locale formatting."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dashboard import jobs, navigation, session
from odwatch import i18n, vocabulary
from odwatch.i18n import catalog, format_date, format_datetime, format_number, set_language, t
from odwatch.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([^"'{}]+)["']""")


def used_keys() -> dict[str, set[str]]:
    """Literal keys passed to t(...) in the dashboard code, by file."""
    files = [ROOT / "streamlit_app.py", *sorted((ROOT / "dashboard").rglob("*.py"))]
    return {str(path.relative_to(ROOT)): set(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
            for path in files}


def test_the_scan_finds_keys():
    keys = set().union(*used_keys().values())
    assert {"signin.invalid", "nav.sign_in", "admin.audit.verify"} <= keys


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_literal_key_exists(lang):
    missing = {f"{name}: {key}" for name, keys in used_keys().items() for key in keys
               if key not in catalog(lang)}
    assert not missing, f"missing in {lang}: {sorted(missing)}"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_computed_key_exists(lang):
    computed = (
        [spec.title_key for spec in navigation.PAGES]
        + [f"role.{role}" for role in vocabulary.ROLES]
        + [f"filter.{name}" for name in session.ALL_FILTERS]
        + [f"consumer_kind.{kind}" for kind in vocabulary.CONSUMER_KINDS]
        + [f"channel.{channel}" for channel in vocabulary.CHANNELS]
        + [f"admin.jobs.{name}" for name in jobs.build_scheduler(Settings()).jobs]
        + [f"notice.category.{n}" for n in range(1, 6)]
        + [f"notice.measure.{action}" for action in ("none", "restrict", "close")]
    )
    assert [key for key in computed if key not in catalog(lang)] == []


def test_shell_catalogs_have_the_same_keys():
    import json

    zh = json.loads((i18n.LOCALES_DIR / "shell.zh.json").read_text(encoding="utf-8"))
    en = json.loads((i18n.LOCALES_DIR / "shell.en.json").read_text(encoding="utf-8"))
    assert set(zh) == set(en)
    assert all(value.strip() for value in [*zh.values(), *en.values()])


def test_language_switch_and_fields():
    set_language("en")
    assert t("signin.locked", minutes=3, until="x").startswith("Too many failed sign-ins: try again in 3")
    set_language("zh")
    assert t("signin.invalid") == "用户名或密码错误。"
    assert t("no.such.key") == "no.such.key"


def test_dates_and_numbers_in_the_locale_and_shanghai_time():
    moment = datetime(2026, 11, 26, 20, 5, tzinfo=UTC)      # 04:05 next day in Shanghai
    set_language("zh")
    assert format_datetime(moment) == "2026年11月27日 04:05"
    assert format_date(date(2026, 1, 2)) == "2026年1月2日"
    set_language("en")
    assert format_datetime(moment) == "2026-11-27 04:05"
    assert format_date(moment) == "2026-11-27"
    assert format_number(1234567) == "1,234,567"
    assert format_number(0.5) == "0.50"
    set_language("zh")
