"""投诉处理 Complaints (第二十六条): suspend at once, verify, then withdraw, restore or reopen.

Open complaints first, with how long suspension and verification took against
the console's targets, then the per-agency summary and every complaint of the range.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.components import table
from dashboard.session import current_filters, filter_sidebar, get_client
from odwatch.i18n import format_number, t
from reports import complaints

PAGE_FILTERS = ("dates", "agency", "domain", "dataset")


def _metrics(timings: pl.DataFrame) -> None:
    open_count = timings.filter(~pl.col("closed")).height
    columns = st.columns(4)
    columns[0].metric(t("pages.complaints.received"), format_number(timings.height))
    columns[1].metric(t("pages.complaints.open"), format_number(open_count))
    columns[2].metric(t("pages.complaints.suspended_in_time", hours=complaints.SUSPEND_WITHIN_HOURS),
                      format_number(int(timings["suspended_in_time"].sum())))
    columns[3].metric(t("pages.complaints.verified_in_time", days=complaints.VERIFY_WITHIN_WORKING_DAYS),
                      format_number(int(timings["verified_in_time"].sum())))


def _outcomes(timings: pl.DataFrame) -> None:
    if timings.is_empty():
        return
    outcomes = timings.group_by("outcome").len("complaints").with_columns(
        pl.col("outcome").map_elements(lambda o: t(f"pages.complaints.outcome.{o}"), return_dtype=pl.String))
    st.plotly_chart(charts.pie(outcomes, "outcome", "complaints", t("pages.complaints.outcomes_chart")),
                    key="complaints_outcomes")


def render() -> None:
    st.title(t("pages.complaints.title"))
    filter_sidebar(show=PAGE_FILTERS)
    filters = current_filters()
    timings = complaints.complaint_timings(get_client(), filters)
    st.caption(t("pages.complaints.targets", hours=complaints.SUSPEND_WITHIN_HOURS,
                 days=complaints.VERIFY_WITHIN_WORKING_DAYS))
    _metrics(timings)
    st.subheader(t("pages.complaints.open_list"))
    open_ones = timings.filter(~pl.col("closed")).drop("closed", "outcome_label")
    if open_ones.is_empty():
        st.info(t("pages.complaints.none_open"))
    table(charts.label_columns(open_ones), "open_complaints")
    _outcomes(timings)
    st.subheader(t("pages.complaints.by_agency"))
    table(charts.label_columns(complaints.summarize_complaints(timings)), "complaints_by_agency")
    st.subheader(t("pages.complaints.all"))
    table(charts.label_columns(timings.drop("outcome_label")), "complaints")


render()
