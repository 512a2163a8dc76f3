"""数据质量 Quality scores (第十六条, 第二十四条(二)).

Per agency and per dataset: the latest 0-100 score, its seven dimensions, the
reasons points were lost (each loss names its cause), datasets overdue for an
update against their declared frequency, and the score's trend over check runs.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.components import table
from dashboard.session import current_filters, filter_sidebar, get_client, get_settings
from odwatch.i18n import format_datetime, format_number, t
from reports import quality

PAGE_FILTERS = ("dates", "agency", "domain", "dataset")
SECTIONS = ("agencies", "datasets", "overdue", "trend")
SHOWN_DATASETS = 100
LOSS_SCHEMA = {"dimension": pl.String, "points": pl.Float64, "cause": pl.String, "field": pl.String,
               "rule": pl.String, "count": pl.Int64, "example": pl.String}


def _dimensions() -> dict[str, str]:
    # Translated once per run, not once per cell (datasets x dimensions).
    return {d: t(f"pages.quality.dim.{d}") for d in quality.DIMENSIONS}


def _metrics(scores: list[dict]) -> None:
    totals = [s["total"] for s in scores]
    columns = st.columns(4)
    columns[0].metric(t("pages.quality.datasets_scored"), format_number(len(scores)))
    average = format_number(sum(totals) / len(totals), 1) if totals else "—"
    columns[1].metric(t("pages.quality.average"), average)
    columns[2].metric(t("pages.quality.below_60"), format_number(sum(1 for x in totals if x < 60)))
    columns[3].metric(t("pages.quality.profiled"), format_number(sum(1 for s in scores if s["profiled"])))


def _agencies(client, filters) -> None:
    st.subheader(t("pages.quality.by_agency", year=filters.date_to.year))
    rows = quality.agency_scores(client, filters.date_to.year, filters.agency_id)
    if not rows:
        st.info(t("pages.quality.no_scores"))
        return
    names = _dimensions()
    weights = quality.quality_weights(get_settings())
    # The share of each dimension's points an agency's datasets keep on average: dimensions weigh
    # differently, so raw points would colour the heaviest darkest. One heatmap trace rather than
    # stacked bars, whose segments (dimensions x agencies) the browser draws one by one.
    kept = pl.DataFrame([{"agency": r["agency_name"], "dimension": names[d],
                          "kept": round(100 * points / weights[d], 1)}
                         for r in rows for d, points in r["dimensions"].items() if weights.get(d)])
    fig = charts.heatmap(kept, "dimension", "agency", "kept", t("pages.quality.kept_chart"),
                         labels={"x": "", "y": "", "color": t("pages.quality.kept")})
    st.plotly_chart(fig.update_layout(height=max(charts.HEIGHT, 22 * len(rows) + 110)),
                    key="quality_agencies")
    frame = pl.DataFrame([{
        "agency_name": r["agency_name"], "score": r["score"], "datasets": r["datasets"],
        **{names[d]: v for d, v in r["dimensions"].items()},
        "worst_dataset_id": r["worst_dataset_id"], "worst_score": r["worst_score"],
    } for r in rows])
    table(charts.label_columns(frame), "quality_by_agency")


def _matching(scores: list[dict], search: str) -> list[dict]:
    """The scored datasets whose id, name or agency contains the search text (any case)."""
    needle = search.strip().lower()
    if not needle:
        return scores
    return [s for s in scores
            if needle in f"{s['dataset_id']}\n{s['name'] or ''}\n{s['agency_name'] or ''}".lower()]


def _datasets(scores: list[dict]) -> list[dict]:
    """The table of the datasets matching the search, worst first; returns the rows it shows."""
    st.subheader(t("pages.quality.by_dataset"))
    search = st.text_input(t("pages.quality.search"), key="quality_search",
                           placeholder=t("pages.quality.search_hint"))
    matched = _matching(scores, search)
    if not matched:
        st.info(t("pages.quality.no_match", search=search.strip()))
        return []
    names = _dimensions()
    # Every row of a check run has the same time: format each distinct time once.
    checked = {s["checked_at"] for s in matched}
    checked = {when: format_datetime(when) for when in checked}
    frame = pl.DataFrame([{
        "dataset_id": s["dataset_id"], "dataset_name": s["name"], "agency_name": s["agency_name"],
        "total": s["total"], **{names[d]: v for d, v in s["dimensions"].items()},
        "causes": s["causes"], "profiled": s["profiled"], "checked_at": checked[s["checked_at"]],
    } for s in matched])
    # The worst are drawn, the downloads hold every matching dataset: thousands of rows cost the
    # browser time on every visit, and a search reaches any dataset.
    table(charts.label_columns(frame), "quality_by_dataset", shown=SHOWN_DATASETS)
    return matched[:SHOWN_DATASETS]


def _losses(client, shown: list[dict]) -> None:
    st.subheader(t("pages.quality.lost_points"))
    names = {s["dataset_id"]: f"{s['name'] or s['dataset_id']} ({s['total']})" for s in shown}
    # Offered: the datasets the table above shows (the user's scope, narrowed by the search), so an
    # agency sees its own causes only, and the list stays short enough to draw at once.
    chosen = st.selectbox(t("pages.quality.dataset"), list(names), format_func=names.get,
                          key="quality_dataset")
    losses, dimensions = quality.lost_points(client, chosen), _dimensions()
    frame = pl.DataFrame([{
        "dimension": dimensions[x["dimension"]], "points": x["points"], "cause": x["cause"],
        "field": x.get("field", ""), "rule": x.get("rule", ""), "count": x.get("count", 0),
        "example": x.get("example", ""),
    } for x in losses], schema=LOSS_SCHEMA)
    table(charts.label_columns(frame), f"quality_losses_{chosen}")


def _overdue(client, filters) -> None:
    st.subheader(t("pages.quality.overdue"))
    rows = quality.overdue_updates(client, filters)
    frequencies = {f: t(f"pages.quality.frequency.{f}") for f in {r["update_frequency"] for r in rows}}
    frame = pl.DataFrame([{
        "dataset_id": r["dataset_id"], "dataset_name": r["name"], "agency_name": r["agency_name"],
        "update_frequency": frequencies[r["update_frequency"]],
        "last_updated": "—" if r["never_updated"] else format_datetime(r["last_updated"]),
        "due": format_datetime(r["due"]) if r["due"] else "—", "days_overdue": r["days_overdue"],
    } for r in rows], schema={"dataset_id": pl.String, "dataset_name": pl.String, "agency_name": pl.String,
                              "update_frequency": pl.String, "last_updated": pl.String, "due": pl.String,
                              "days_overdue": pl.Int64})
    table(charts.label_columns(frame), "overdue_updates")


def _trend(client, filters) -> None:
    rows = quality.score_trend(client, dataset_id=filters.dataset_id, agency_id=filters.agency_id)
    if not rows:
        st.info(t("shell.no_rows"))
        return
    frame = pl.DataFrame({"checked_at": [r["checked_at"] for r in rows], "score": [r["score"] for r in rows]})
    st.plotly_chart(charts.line(frame, "checked_at", "score", t("pages.quality.trend_chart"),
                                labels={"checked_at": t("pages.quality.checked_at"),
                                        "score": t("pages.quality.score")}), key="quality_trend")


def render() -> None:
    st.title(t("pages.quality.title"))
    filter_sidebar(show=PAGE_FILTERS)
    filters = current_filters()
    client = get_client()
    scores = quality.dataset_scores(client, filters)
    st.caption(t("pages.quality.as_of", date_to=filters.date_to))
    _metrics(scores)
    # One section at a time: only the open tab's queries run and only its tables and charts are
    # drawn, so a catalog of thousands of datasets does not weigh on every visit.
    agencies, datasets, overdue, trend = st.tabs([t(f"pages.quality.tab.{s}") for s in SECTIONS],
                                                 key="quality_tab", on_change="rerun")
    if agencies.open:
        with agencies:
            _agencies(client, filters)
    if datasets.open:
        with datasets:
            shown = _datasets(scores) if scores else []
            if shown:
                _losses(client, shown)
            elif not scores:
                st.info(t("shell.no_rows"))
    if overdue.open:
        with overdue:
            _overdue(client, filters)
    if trend.open:
        with trend:
            _trend(client, filters)


render()
