"""The message catalog (odwatch/i18n.py, odwatch/locales/): every key the dashboard uses, literal or built
from a vocabulary of another module, exists in Chinese and English, with the same keys in both files of
an area; the language switch and locale formatting of dates, times (Shanghai) and numbers."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dashboard import jobs, navigation, session
from detectors import violations
from detectors.store import STATUSES
from detectors.triage import TRANSITIONS
from odwatch import i18n, vocabulary
from odwatch.i18n import catalog, format_date, format_datetime, format_number, set_language, t
from odwatch.settings import ChannelSettings, ScheduleSettings, Settings
from odwatch.vocabulary import ALERT_CATEGORIES, MEASURES, SEVERITIES, VIOLATION_CATEGORIES
from reports.complaints import OUTCOME_LABELS
from reports.evaluation import DEFAULT_WEIGHTS, GRADES
from reports.quality import DIMENSIONS, FREQUENCY_DAYS
from reports.usage import MEASURE_COLUMNS

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


def test_documents_print_the_dashboards_chinese_severity_words():
    assert {s: catalog("zh")[f"pages.severity.{s}"] for s in SEVERITIES} == vocabulary.SEVERITY_LABELS


def locale_files(area: str) -> tuple[dict, dict]:
    """The Chinese and the English catalog file of one area (odwatch/locales/<area>.<lang>.json)."""
    return tuple(json.loads((i18n.LOCALES_DIR / f"{area}.{lang}.json").read_text(encoding="utf-8"))
                 for lang in ("zh", "en"))


def test_shell_catalogs_have_the_same_keys():
    zh, en = locale_files("shell")
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


# ---- The pages' keys ---------------------------------------------------------------------------------------

def test_pages_catalogs_have_the_same_keys():
    zh, en = locale_files("pages")
    assert set(zh) == set(en)
    assert all(value.strip() for value in [*zh.values(), *en.values()])
    assert all(key.startswith("pages.") for key in zh)


def computed_keys() -> list[str]:
    """Keys the pages build from the vocabularies of the other modules."""
    return (
        [f"pages.triage.cat.{c}" for c in ALERT_CATEGORIES]
        + [f"pages.severity.{s}" for s in SEVERITIES]
        + [f"pages.triage.state.{s}" for s in (*STATUSES, "open", "all")]
        + [f"pages.triage.action.{a}" for a in TRANSITIONS]
        + [f"pages.violations.measure.{m}" for m in MEASURES]
        + [f"pages.violations.category.{c}" for c in VIOLATION_CATEGORIES]
        + [f"pages.complaints.outcome.{o}" for o in OUTCOME_LABELS]
        + [f"pages.evaluation.dim.{d}" for d in DEFAULT_WEIGHTS]
        + [f"pages.evaluation.grade.{g}" for g in ("excellent", "good", "pass", "fail")]
        + [f"pages.quality.dim.{d}" for d in DIMENSIONS]
        + [f"pages.quality.frequency.{f}" for f in (*FREQUENCY_DAYS, "static")]
        + [f"pages.col.{m}" for m in MEASURE_COLUMNS]
        + [f"pages.open_class.{c}" for c in ("unconditional", "conditional", "closed")]
        + [f"pages.channel.{c}" for c in ("api", "download")]
    )


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_computed_page_key_exists(lang):
    assert [key for key in computed_keys() if key not in catalog(lang)] == []


def test_grade_keys_cover_the_evaluations_grades():
    # The evaluation page maps the grade labels of reports.evaluation to these keys.
    zh = catalog("zh")
    shown = {zh[f"pages.evaluation.grade.{g}"] for g in ("excellent", "good", "pass", "fail")}
    assert shown == {label for _, label in GRADES}


# ---- Notifications and violation sources -------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_computed_notification_and_violation_key_exists(lang):
    kinds = ChannelSettings.model_fields["kind"].annotation.__args__
    scheduled = ScheduleSettings.model_fields["kind"].annotation.__args__
    messages = ("alert_group", "escalation", "test", *scheduled)
    computed = ([f"vsrc.source.{s}" for s in violations.SOURCES] + [f"notify.kind.{k}" for k in kinds]
                + [f"admin.notify.message_kind.{m}" for m in messages] + ["admin.jobs.notify",
                                                                          "pages.triage.action.escalate"])
    assert [key for key in computed if key not in catalog(lang)] == []
