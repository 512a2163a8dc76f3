"""总览 Overview: the platform at a glance for the signed-in user's scope.

Open datasets by class, traffic today and over the range with the trend against
the previous period, active consumers, open alerts by severity, violations this
year, the average quality score and the most used datasets.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.components import table
from dashboard.session import current_filters, filter_sidebar, get_client, today
from detectors.store import alert_counts_by_severity
from odwatch.i18n import format_date, format_number, t
from reports import overview

OPEN_CLASSES = ("unconditional", "conditional")   # 非开放 (closed) entries are listed, not open


def _delta(current: int, previous: int) -> str | None:
    change = overview.percent_change(current, previous)
    return None if change is None else f"{change:+.1f}%"


def _catalog_metrics(client, filters) -> None:
    by_class = dict(overview.open_datasets_by_class(client, filters).iter_rows())
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


def _supervision_metrics(client, filters) -> None:
    alerts = alert_counts_by_severity(client, agency_id=filters.agency_id)
    quality = overview.average_quality(client, filters)
    columns = st.columns(3)
    columns[0].metric(t("pages.overview.open_alerts"), format_number(sum(alerts.values())))
    columns[1].metric(t("pages.overview.violations_year", year=filters.date_to.year),
                      format_number(overview.violations_in_year(client, filters)))
    columns[2].metric(t("pages.overview.average_quality"), format_number(quality["average"], 1)
                      if quality["average"] is not None else "—",
                      help=t("pages.overview.average_quality_help", datasets=quality["datasets"]))
    if alerts:
        frame = pl.DataFrame({"severity": list(alerts), "alerts": list(alerts.values())})
        frame = frame.with_columns(pl.col("severity").replace_strict(
            {s: t(f"pages.severity.{s}") for s in alerts}, default=pl.col("severity")).alias("label"))
        colours = {t(f"pages.severity.{s}"): c for s, c in charts.SEVERITY_COLOURS.items()}
        st.plotly_chart(charts.bar(frame, "label", "alerts", t("pages.overview.alerts_chart"), color="label",
                                   labels={"label": "", "alerts": t("pages.overview.alerts")},
                                   colours=colours), key="overview_alerts")


def _trend(client, filters) -> None:
    daily = overview.daily_traffic(client, filters).with_columns(
        pl.col("channel").replace_strict({c: t(f"pages.channel.{c}") for c in ("api", "download")}))
    st.plotly_chart(charts.line(daily, "day", "calls", t("pages.overview.trend_chart"), color="channel",
                                labels={"day": t("pages.overview.day"), "calls": t("pages.overview.calls"),
                                        "channel": ""}), key="overview_trend")


def _top(client, filters) -> None:
    st.subheader(t("pages.overview.top_datasets"))
    top = overview.top_datasets(client, filters, limit=10)
    table(charts.label_columns(top), "top_datasets")


def render() -> None:
    st.title(t("pages.overview.title"))
    filter_sidebar()
    filters = current_filters()
    client = get_client()
    st.caption(t("pages.overview.range", date_from=filters.date_from, date_to=filters.date_to))
    _catalog_metrics(client, filters)
    _traffic_metrics(overview.traffic_summary(client, filters), filters.date_to)
    _supervision_metrics(client, filters)
    _trend(client, filters)
    _top(client, filters)


render()
