"""利用情况 Usage (第十六条, 第二十四条, 第二十九条).

Traffic over time; a drill-down from agency to dataset to consumer (picking a bar,
or choosing in the box under it, narrows the next chart); consumer kinds,
channels and declared scenarios; the fields requested, as a ranking and as a
heatmap per dataset; platform operation (latency percentiles, errors,
availability); and one consumer's 第二十九条 usage-report draft to download.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.components import audit_personal_view, download_button, table
from dashboard.session import (
    current_filters,
    current_user,
    filter_sidebar,
    get_client,
    get_settings,
    mask_name,
)
from odwatch.i18n import format_number, t
from reports import usage
from reports.filters import ReportFilters
from warehouse import connect

TOP_BARS = 20
DRILL_AGENCY = "usage_drill_agency"
DRILL_DATASET = "usage_drill_dataset"
DRAFT_FORMATS = (("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                 ("pdf", "application/pdf"))


def _measure_labels() -> dict[str, str]:
    return {m: t(f"pages.col.{m}") for m in usage.MEASURE_COLUMNS}


def _metrics(daily: pl.DataFrame, distinct: dict[str, int]) -> None:
    """The range's sums, and its distinct consumers and anonymous IPs (not sums of the days)."""
    figures = {m: int(daily[m].sum()) for m in ("calls", "api_calls", "downloads", "rows", "errors")}
    figures |= distinct
    for column, (measure, value) in zip(st.columns(len(figures)), figures.items(), strict=True):
        column.metric(t(f"pages.col.{measure}"), format_number(value))


def _trend(daily: pl.DataFrame) -> None:
    long = daily.select("day", "api_calls", "downloads").unpivot(index="day", variable_name="measure",
                                                                 value_name="value")
    long = long.with_columns(pl.col("measure").replace_strict(_measure_labels(), default=pl.col("measure")))
    st.plotly_chart(charts.line(long, "day", "value", t("pages.usage.trend_chart"), color="measure",
                                labels={"day": "", "value": t("pages.usage.requests"), "measure": ""}),
                    key="usage_trend")


def _picked(event, frame: pl.DataFrame, id_column: str, state_key: str) -> None:
    """A bar picked on the chart becomes the drill-down choice (the box below shows it)."""
    rows = charts.selected_rows(event)
    last_key = f"{state_key}_last_pick"
    picked = frame[id_column][rows[0]] if rows and rows[0] < frame.height else None
    if picked != st.session_state.get(last_key):
        st.session_state[last_key] = picked
        if picked is not None:
            st.session_state[state_key] = picked


def _drill_choice(label: str, frame: pl.DataFrame, id_column: str, name_column: str,
                  state_key: str) -> str | None:
    names = dict(zip(frame[id_column].to_list(), frame[name_column].fill_null("").to_list(), strict=True))
    if st.session_state.get(state_key) not in names:
        st.session_state[state_key] = None
    return st.selectbox(label, [None, *names], key=state_key,
                        format_func=lambda v: t("pages.common.all") if v is None else names[v] or v)


def _drill_bar(frame: pl.DataFrame, y: str, title: str, key: str):
    top = frame.head(TOP_BARS)
    fig = charts.bar(top, y, "calls", title, labels={y: "", "calls": t("pages.col.calls")}, horizontal=True)
    return top, st.plotly_chart(fig, key=key, on_select="rerun", selection_mode=("points",))


def _agencies(filters: ReportFilters) -> ReportFilters:
    """Level 1: agencies. An agency user is already scoped, so the level is skipped."""
    if filters.agency_id:
        return filters
    agencies = usage.by_agency(get_client(), filters)
    top, event = _drill_bar(agencies, "agency_name", t("pages.usage.by_agency_chart"), "usage_agency_chart")
    _picked(event, top, "agency_id", DRILL_AGENCY)
    chosen = _drill_choice(t("pages.usage.drill_agency"), agencies, "agency_id", "agency_name", DRILL_AGENCY)
    table(charts.label_columns(agencies), "usage_by_agency")
    return replace(filters, agency_id=chosen) if chosen else filters


def _datasets(filters: ReportFilters) -> ReportFilters:
    """Level 2: the datasets of the chosen agency (an agency user's own)."""
    if filters.dataset_id:
        return filters
    datasets = usage.by_dataset(get_client(), filters)
    top, event = _drill_bar(datasets.with_columns(pl.col("dataset_name").fill_null(pl.col("dataset_id"))),
                            "dataset_name", t("pages.usage.by_dataset_chart"), "usage_dataset_chart")
    _picked(event, top, "dataset_id", DRILL_DATASET)
    chosen = _drill_choice(t("pages.usage.drill_dataset"), datasets, "dataset_id", "dataset_name",
                           DRILL_DATASET)
    table(charts.label_columns(datasets), "usage_by_dataset")
    return replace(filters, dataset_id=chosen) if chosen else filters


def _consumers(filters: ReportFilters) -> pl.DataFrame:
    """Level 3: the consumers of the chosen dataset (or agency); personal names masked per role."""
    consumers = usage.by_consumer(get_client(), filters).with_columns(
        pl.struct("consumer_id", "consumer_name", "consumer_kind").map_elements(
            lambda r: t("pages.usage.anonymous") if not r["consumer_id"]
            else mask_name(r["consumer_name"] or r["consumer_id"], r["consumer_kind"]),
            return_dtype=pl.String).alias("consumer_name"))
    top = consumers.head(TOP_BARS)
    st.plotly_chart(charts.bar(top, "consumer_name", "calls", t("pages.usage.by_consumer_chart"),
                               labels={"consumer_name": "", "calls": t("pages.col.calls")}, horizontal=True),
                    key="usage_consumer_chart")
    table(charts.label_columns(consumers), "usage_by_consumer")
    return consumers


def _drill_down(filters: ReportFilters) -> pl.DataFrame | None:
    """Each level opens once a choice is made above it: the platform's agencies, one agency's
    datasets, the consumers of one agency or dataset. A render loads only the levels shown."""
    st.subheader(t("pages.usage.drill"))
    narrowed = _agencies(filters)
    if not narrowed.agency_id:
        st.info(t("pages.usage.pick_agency"))
        return None
    narrowed = _datasets(narrowed)
    return _consumers(narrowed)


def _kinds_channels_scenarios(filters: ReportFilters) -> None:
    left, right = st.columns(2)
    breakdowns = usage.mix(get_client(), filters)
    kinds = breakdowns["consumer_kind"].with_columns(
        pl.col("consumer_kind").fill_null("").map_elements(lambda k: t(f"consumer_kind.{k}") if k else "—",
                                                           return_dtype=pl.String))
    with left:
        st.plotly_chart(charts.pie(kinds, "consumer_kind", "calls", t("pages.usage.kinds_chart")),
                        key="usage_kinds")
    channels = breakdowns["channel"].with_columns(
        pl.col("channel").map_elements(lambda c: t(f"pages.channel.{c}"), return_dtype=pl.String))
    with right:
        st.plotly_chart(charts.pie(channels, "channel", "calls", t("pages.usage.channels_chart")),
                        key="usage_channels")
    st.subheader(t("pages.usage.scenarios"))
    scenarios = breakdowns["scenario"].with_columns(
        pl.when(pl.col("scenario") == "").then(pl.lit(t("pages.usage.no_scenario")))
        .otherwise(pl.col("scenario")).alias("scenario"))
    if scenarios.height:
        fig = charts.bar(scenarios.head(TOP_BARS), "scenario", "calls", t("pages.usage.scenarios_chart"),
                         labels={"scenario": "", "calls": t("pages.col.calls")}, horizontal=True)
        st.plotly_chart(fig, key="usage_scenarios")
    table(charts.label_columns(scenarios), "usage_by_scenario")


def _fields(filters: ReportFilters) -> None:
    st.subheader(t("pages.usage.fields"))
    fields = usage.top_fields(get_client(), filters)
    heat = usage.field_heatmap(get_client(), filters)
    if heat.height:
        heat = heat.with_columns(pl.col("dataset_name").fill_null(pl.col("dataset_id")))
        st.plotly_chart(charts.heatmap(heat, "field", "dataset_name", "calls", t("pages.usage.heatmap_chart"),
                                       labels={"x": t("pages.col.field"), "y": "",
                                               "color": t("pages.col.calls")}), key="usage_heatmap")
    table(charts.label_columns(fields), "usage_top_fields")


def _operation(filters: ReportFilters) -> None:
    st.subheader(t("pages.usage.operation"))
    operation = usage.platform_operation(get_client(), filters)
    latency = operation.select("day", "latency_p50", "latency_p95", "latency_p99").unpivot(
        index="day", variable_name="percentile", value_name="ms").with_columns(
        pl.col("percentile").str.replace("latency_", "").str.to_uppercase())
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.line(latency, "day", "ms", t("pages.usage.latency_chart"), color="percentile",
                                    labels={"day": "", "ms": t("pages.usage.ms"), "percentile": ""}),
                        key="usage_latency")
    rates = operation.select(
        "day", (pl.col("error_rate") * 100).alias(t("pages.usage.error_rate")),
        (pl.col("availability") * 100).alias(t("pages.usage.availability")),
    ).unpivot(index="day", variable_name="measure", value_name="percent")
    with right:
        st.plotly_chart(charts.line(rates, "day", "percent", t("pages.usage.errors_chart"), color="measure",
                                    labels={"day": "", "percent": "%", "measure": ""}), key="usage_errors")
    table(charts.label_columns(operation), "platform_operation")


def _draft(filters: ReportFilters, consumers: pl.DataFrame) -> None:
    """第二十九条: a registered consumer's usage-report draft for the range, drafted from the logs."""
    st.subheader(t("pages.usage.draft"))
    st.caption(t("pages.usage.draft_help", date_from=filters.date_from, date_to=filters.date_to))
    registered = consumers.filter(pl.col("consumer_id") != "")
    if registered.is_empty():
        st.info(t("pages.usage.no_consumers"))
        return
    names = dict(zip(registered["consumer_id"].to_list(), registered["consumer_name"].to_list(), strict=True))
    consumer = st.selectbox(t("pages.usage.consumer"), list(names), key="usage_draft_consumer",
                            format_func=lambda c: f"{names[c]} ({c})")
    settings = get_settings()

    def draft(fmt: str) -> bytes:
        # Imported on demand: the exporters load matplotlib, reportlab and python-docx.
        from reports.export.consumer import write_consumer_report

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"usage-report.{fmt}"
            # Streamlit calls this when the button is clicked, outside the script run: the
            # session's client may be busy with its next run then.
            write_consumer_report(connect(settings), consumer, filters.date_from, filters.date_to, fmt, out)
            return out.read_bytes()

    for column, (fmt, mime) in zip(st.columns(len(DRAFT_FORMATS)), DRAFT_FORMATS, strict=True):
        with column:
            download_button(t(f"pages.usage.draft_{fmt}"), lambda fmt=fmt: draft(fmt),
                            f"usage-report-{consumer}-{filters.date_from}-{filters.date_to}.{fmt}", mime,
                            "consumer_usage_report", key=f"usage_draft_{fmt}",
                            detail={"consumer_id": consumer})


def _drill_section(filters: ReportFilters) -> None:
    consumers = _drill_down(filters)
    user = current_user()
    # The draft covers all of a consumer's datasets, so it is for the platform's roles, not one agency.
    if consumers is not None and user is not None and user.role != "agency":
        _draft(filters, consumers)


# Each section loads only its own data: a render runs the queries of the section shown.
SECTIONS = {"drill": _drill_section, "mix": _kinds_channels_scenarios, "fields": _fields,
            "operation": _operation}


def render() -> None:
    st.title(t("pages.usage.title"))
    filter_sidebar()
    filters = current_filters()
    audit_personal_view("usage", filters, ("names",))
    daily = usage.traffic_by_day(get_client(), filters)
    _metrics(daily, usage.range_totals(get_client(), filters))
    _trend(daily)
    section = st.radio(t("pages.usage.section"), list(SECTIONS), horizontal=True, key="usage_section",
                       format_func=lambda key: t(f"pages.usage.section_{key}"), label_visibility="collapsed")
    SECTIONS[section](filters)


render()
