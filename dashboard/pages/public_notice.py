"""公示 Public notice (第三十一条): readable without signing in.

Only what reports.violations.public_notice allows to publish: publicized
records, organisation names with credit codes, persons masked, no IPs or keys.
"""

from __future__ import annotations

import streamlit as st

from dashboard import components, session
from odwatch.i18n import format_date, format_number, labels, t
from reports.violations import public_notice

DATE_COLUMNS = ("measure_from", "measure_until", "recorded_on")
SHOWN = ("subject", "credit_code", "dataset", "agency", "category_label", "measure", "measure_from",
         "measure_until", "recorded_on")

st.title(t("notice.title"))
st.caption(t("notice.intro"))

rows = public_notice(session.get_client())
st.metric(t("notice.count"), format_number(len(rows)))
shown = [
    {column: format_date(row[column]) if column in DATE_COLUMNS and row.get(column) else row.get(column, "")
     for column in SHOWN}
    for row in rows
]
if not shown:
    st.info(t("notice.empty"))
else:
    components.table(shown, "public_notice", labels=labels(list(SHOWN), "notice.col"))
