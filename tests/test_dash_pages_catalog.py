"""The pages' message catalog: both languages complete, every computed key present."""

from __future__ import annotations

import json

import pytest

from detectors.store import STATUSES
from detectors.triage import TRANSITIONS
from odwatch import i18n
from odwatch.i18n import catalog
from odwatch.vocabulary import ALERT_CATEGORIES, MEASURES, SEVERITIES, VIOLATION_CATEGORIES
from reports.complaints import OUTCOME_LABELS
from reports.evaluation import DEFAULT_WEIGHTS, GRADES
from reports.quality import DIMENSIONS, FREQUENCY_DAYS
from reports.usage import MEASURE_COLUMNS


def test_pages_catalogs_have_the_same_keys():
    zh = json.loads((i18n.LOCALES_DIR / "pages.zh.json").read_text(encoding="utf-8"))
    en = json.loads((i18n.LOCALES_DIR / "pages.en.json").read_text(encoding="utf-8"))
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
        + [f"pages.quality.frequency.{f}" for f in FREQUENCY_DAYS]
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
