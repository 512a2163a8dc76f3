"""总览 Overview: the platform at a glance for the signed-in user's scope.

Open datasets by class, traffic today and over the range with the trend against
the previous period, active consumers, open alerts by severity, violations this
year, the average quality score and the most used datasets.
"""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.components import severity_metrics, table
from dashboard.session import current_filters, filter_sidebar, get_client, today
from detectors.store import alert_counts_by_severity
from odwatch.i18n import format_date, format_number, t
from reports import overview

OPEN_CLASSES = ("unconditional", "conditional")   # 非开放 (closed) entries are listed, not open


def _delta(current: int, previous: int) -> str | None:
    change = overview.percent_change(current, previous)
    return None if change is None else f"{change:+.1f}%"


def _figures(client, filters) -> dict:
    """Everything the page shows, read before anything is drawn (and its charts built).

    The browser redraws the whole page for each batch of elements it receives: a page that
    draws as it queries is redrawn after every query. Reading first sends the page in one
    batch, and leaves the browser idle (and the CPU to the queries) meanwhile.
    """
    return {
        "by_class": dict(overview.open_datasets_by_class(client, filters).iter_rows()),
        "traffic": overview.traffic_summary(client, filters),
        "alerts": alert_counts_by_severity(client, agency_id=filters.agency_id),
        "violations": overview.violations_in_year(client, filters),
        "quality": overview.average_quality(client, filters),
        "daily": overview.daily_traffic(client, filters),
        "top": overview.top_datasets(client, filters, limit=10),
    }


def _catalog_metrics(by_class: dict[str, int]) -> None:
    columns = st.columns(4)
    columns[0].metric(t("pages.overview.open_datasets"),
                      format_number(sum(by_class.get(c, 0) for c in OPEN_CLASSES)))
    for column, open_class in zip(columns[1:], (*OPEN_CLASSES, "closed"), strict=True):
        column.metric(t(f"pages.open_class.{open_class}"), format_number(by_class.get(open_class, 0)))


def _traffic_metrics(traffic: dict[str, int], last_day: date) -> None:
    # The range's last day is "today" unless the user looks at an earlier range.
    day = {} if last_day == today() else {"day": format_date(last_day)}
    suffix = "_on" if day else ""
    columns = st.columns(5)
    columns[0].metric(t(f"pages.overview.calls_today{suffix}", **day), format_number(traffic["calls_today"]))
    columns[1].metric(t(f"pages.overview.downloads_today{suffix}", **day),
                      format_number(traffic["downloads_today"]))
    columns[2].metric(t("pages.overview.calls_period"), format_number(traffic["calls_period"]),
                      _delta(traffic["calls_period"], traffic["calls_previous"]))
    columns[3].metric(t("pages.overview.downloads_period"), format_number(traffic["downloads_period"]),
                      _delta(traffic["downloads_period"], traffic["downloads_previous"]))
    columns[4].metric(t("pages.overview.active_consumers"), format_number(traffic["active_consumers"]),
                      _delta(traffic["active_consumers"], traffic["active_consumers_previous"]))


def _trend_chart(daily: pl.DataFrame) -> go.Figure:
    daily = daily.with_columns(
        pl.col("channel").replace_strict({c: t(f"pages.channel.{c}") for c in ("api", "download")}))
    labels = {"day": t("pages.overview.day"), "calls": t("pages.overview.calls"), "channel": ""}
    return charts.line(daily, "day", "calls", t("pages.overview.trend_chart"), color="channel", labels=labels)


def _supervision_metrics(alerts: dict[str, int], violations: int, quality: dict, year: int) -> None:
    columns = st.columns(3)
    columns[0].metric(t("pages.overview.open_alerts"), format_number(sum(alerts.values())))
    columns[1].metric(t("pages.overview.violations_year", year=year), format_number(violations))
    columns[2].metric(t("pages.overview.average_quality"), format_number(quality["average"], 1)
                      if quality["average"] is not None else "—",
                      help=t("pages.overview.average_quality_help", datasets=quality["datasets"]))


def _top(top: pl.DataFrame) -> None:
    st.subheader(t("pages.overview.top_datasets"))
    classes = {c: t(f"pages.open_class.{c}") for c in (*OPEN_CLASSES, "closed")}
    top = top.with_columns(pl.col("open_class").replace_strict(classes, default=pl.col("open_class")))
    table(charts.label_columns(top), "top_datasets")


def render() -> None:
    st.title(t("pages.overview.title"))
    filter_sidebar()
    filters = current_filters()
    figures = _figures(get_client(), filters)
    trend = _trend_chart(figures["daily"])
    st.caption(t("pages.overview.range", date_from=filters.date_from, date_to=filters.date_to))
    _catalog_metrics(figures["by_class"])
    _traffic_metrics(figures["traffic"], filters.date_to)
    _supervision_metrics(figures["alerts"], figures["violations"], figures["quality"], filters.date_to.year)
    # Four figures, where a bar chart of them was one more Plotly chart to build and draw.
    severity_metrics(figures["alerts"], "pages.overview.open_severity")
    st.plotly_chart(trend, key="overview_trend")
    _top(figures["top"])


render()
