"""公示 Public notice (第三十一条): readable without signing in.

Only what detectors.violations.public_notice allows to publish: publicized
records, organisation names with credit codes, persons masked, no IPs or keys.
"""

from __future__ import annotations

import streamlit as st

from dashboard import components, session
from detectors.violations import public_notice
from odwatch.i18n import format_date, format_number, labels, t
from odwatch.vocabulary import MEASURE_LABELS, VIOLATION_NUMERALS

DATE_COLUMNS = ("measure_from", "measure_until", "recorded_on")
SHOWN = ("subject", "credit_code", "dataset", "agency", "category_label", "measure", "measure_from",
         "measure_until", "recorded_on")

st.title(t("notice.title"))
st.caption(t("notice.intro"))

MEASURE_ACTIONS = {label: action for action, label in MEASURE_LABELS.items()}


def _shown(row: dict) -> dict:
    """One notice row in the reader's language: the category and measure from the catalog, dates localised."""
    shown = {column: row.get(column, "") for column in SHOWN}
    shown.update({column: format_date(row[column]) for column in DATE_COLUMNS if row.get(column)})
    category = row["category"]
    shown["category_label"] = f"{VIOLATION_NUMERALS[category]} {t(f'notice.category.{category}')}"
    action = MEASURE_ACTIONS.get(row["measure"])
    if action:
        shown["measure"] = t(f"notice.measure.{action}")
    return shown


rows = public_notice(session.get_client())
st.metric(t("notice.count"), format_number(len(rows)))
shown = [_shown(row) for row in rows]
if not shown:
    st.info(t("notice.empty"))
else:
    components.table(shown, "public_notice", labels=labels(list(SHOWN), "notice.col"))
