"""The offender history panel: what a consumer — and every account with the same 统一社会信用代码 —
has done before, across agencies, and the measure the repeat-offence rule proposes. Shown in the
triage view of an alert and on the violations page."""

from __future__ import annotations

import polars as pl
import streamlit as st
from clickhouse_connect.driver.client import Client

from dashboard import charts
from dashboard.components import plain
from dashboard.session import get_settings, mask_name
from detectors import violations
from odwatch.i18n import format_date, format_number, t


def window_months(days: int) -> int:
    return max(round(days / 30.44), 1)


def _measure(proposal: dict) -> str:
    label = t(f"pages.violations.measure.{proposal['measure']}")
    if proposal["days"]:
        return t("offender.measure_for", measure=label, days=proposal["days"])
    return t("offender.measure_open", measure=label)


def _category(category: int) -> str:
    return t(f"pages.violations.category.{category}")


def _violations_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{
        "recorded_on": format_date(row["recorded_at"]),
        "consumer_id": row["consumer_id"],
        "agency_name": row["agency_name"] or row["agency_id"],
        "dataset_name": row["dataset_name"] or row["dataset_id"],
        "category": f"{row['article']} {_category(row['category'])}",
        "source": t(f"vsrc.source.{row['source']}"),
        "measure": "、".join(t(f"pages.violations.measure.{m['action']}") for m in row["measures"])
        or t("pages.violations.measure.none"),
    } for row in rows], schema={k: pl.String for k in ("recorded_on", "consumer_id", "agency_name",
                                                         "dataset_name", "category", "source", "measure")})


def offender_panel(client: Client, consumer_id: str = "", credit_code: str = "",
                   key: str = "offender", deciding: bool = True) -> None:
    """The history of one consumer (or credit code), in a bordered box; a caption for anonymous traffic.

    `deciding`: a violation is about to be decided (an open alert, a new record), so the panel says
    which violation it would be and what the repeat-offence rule proposes; otherwise only the history.
    """
    if not consumer_id and not credit_code:
        st.caption(t("offender.anonymous"))
        return
    rule = get_settings().repeat_offence
    history = violations.offender_history(client, consumer_id=consumer_id, credit_code=credit_code,
                                          window_days=rule.window_days, steps=rule.steps)
    months = window_months(rule.window_days)
    with st.container(border=True, key=f"{key}_panel"):
        st.markdown(f"**{t('offender.title')}**")
        if history is None:
            st.caption(t("offender.unknown", consumer=plain(consumer_id or credit_code)))
            return
        name = plain(mask_name(history.name or consumer_id, history.kind or None))
        if history.recent and deciding:
            st.warning(t("offender.repeat", name=name, months=months, n=history.recent,
                         next=history.next_ordinal))
        elif history.recent:
            st.warning(t("offender.recent_only", name=name, months=months, n=history.recent))
        else:
            st.caption(t("offender.first", name=name, months=months))
        columns = st.columns(5)
        columns[0].metric(t("offender.recent", months=months), format_number(history.recent))
        columns[1].metric(t("offender.total"), format_number(len(history.violations)))
        columns[2].metric(t("offender.confirmed"), format_number(history.confirmed_alerts))
        columns[3].metric(t("offender.dismissed"), format_number(history.dismissed_alerts))
        columns[4].metric(t("offender.agencies"), format_number(len(history.agencies)))
        if len(history.consumer_ids) > 1:
            st.caption(t("offender.accounts", code=plain(history.credit_code),
                         accounts=plain("、".join(history.consumer_ids))))
        if history.proposal and deciding:
            st.info(t("offender.proposal", n=history.proposal["ordinal"], months=months,
                      measure=_measure(history.proposal)))
        if history.violations:
            st.dataframe(charts.label_columns(_violations_frame(history.violations)), hide_index=True,
                         width="stretch", key=f"{key}_violations")
