"""申请与协议 Applications & agreements (第十九条, 第二十条, 第二十九条).

The 5-working-day review clock per agency with the overdue items, agreements
whose validity ends soon, and 第二十九条 usage reports that are overdue.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.components import audit_personal_view, table
from dashboard.session import current_filters, filter_sidebar, get_client, mask_name
from odwatch.i18n import format_number, format_percent, t
from reports import applications

PAGE_FILTERS = ("dates", "agency", "domain", "dataset")


def _masked(df: pl.DataFrame) -> pl.DataFrame:
    if "consumer_name" not in df.columns:
        return df
    return df.with_columns(pl.col("consumer_name").map_elements(mask_name, return_dtype=pl.String))


def _sla(reviews: pl.DataFrame) -> None:
    st.subheader(t("pages.applications.sla"))
    st.caption(t("pages.applications.sla_help"))
    sla = applications.summarize_reviews(reviews)
    reviewed = int(sla["reviewed"].sum()) if sla.height else 0
    within = int(sla["within_sla"].sum()) if sla.height else 0
    columns = st.columns(3)
    columns[0].metric(t("pages.applications.reviewed"), format_number(reviewed))
    overdue = int(sla["overdue"].sum() + sla["pending_overdue"].sum()) if sla.height else 0
    columns[1].metric(t("pages.applications.share_within"),
                      format_percent(within / reviewed if reviewed else None))
    columns[2].metric(t("pages.applications.overdue_total"), format_number(overdue))
    if sla.height:
        chart = sla.with_columns((pl.col("share_within_sla") * 100).round(1).alias("percent"))
        st.plotly_chart(charts.bar(chart, "agency_name", "percent", t("pages.applications.sla_chart"),
                                   labels={"agency_name": "", "percent": t("pages.applications.percent")},
                                   horizontal=True), key="applications_sla")
    table(charts.label_columns(sla), "review_sla")


def _overdue(reviews: pl.DataFrame) -> None:
    st.subheader(t("pages.applications.overdue"))
    overdue = reviews.filter(pl.col("overdue")).sort("working_days", descending=True)
    if overdue.is_empty():
        st.info(t("pages.applications.none_overdue"))
    table(charts.label_columns(overdue), "overdue_applications")


def _expiring(client, filters) -> None:
    st.subheader(t("pages.applications.expiring"))
    within = st.slider(t("pages.applications.within_days"), 7, 180, 30, step=7, key="applications_within")
    expiring = applications.expiring_agreements(client, filters, within_days=within)
    table(charts.label_columns(_masked(expiring)), "expiring_agreements")


def _reports(client, filters) -> None:
    st.subheader(t("pages.applications.reports_overdue"))
    st.caption(t("pages.applications.reports_help"))
    reports = applications.overdue_usage_reports(client, filters)
    table(charts.label_columns(_masked(reports)), "overdue_usage_reports")


def render() -> None:
    st.title(t("pages.applications.title"))
    filter_sidebar(show=PAGE_FILTERS)
    filters = current_filters()
    audit_personal_view("applications", filters, ("names",))
    client = get_client()
    # One pass over the applications feeds both the per-agency SLA and the overdue list.
    reviews = applications.application_reviews(client, filters)
    _sla(reviews)
    _overdue(reviews)
    _expiring(client, filters)
    _reports(client, filters)


render()
