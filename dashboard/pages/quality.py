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
from dashboard.session import current_filters, filter_sidebar, get_client
from odwatch.i18n import format_datetime, format_number, t
from reports import quality

PAGE_FILTERS = ("dates", "agency", "domain", "dataset")
LOSS_SCHEMA = {"dimension": pl.String, "points": pl.Float64, "cause": pl.String, "field": pl.String,
               "rule": pl.String, "count": pl.Int64, "example": pl.String}


def _dimension(key: str) -> str:
    return t(f"pages.quality.dim.{key}")


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
    long = pl.DataFrame([{"agency": r["agency_name"], "dimension": _dimension(d), "points": points}
                         for r in rows for d, points in r["dimensions"].items()])
    fig = charts.bar(long, "agency", "points", t("pages.quality.dimensions_chart"), color="dimension",
                     labels={"agency": "", "points": t("pages.quality.points"), "dimension": ""},
                     horizontal=True)
    st.plotly_chart(fig, key="quality_agencies")
    frame = pl.DataFrame([{
        "agency_name": r["agency_name"], "score": r["score"], "datasets": r["datasets"],
        **{_dimension(d): v for d, v in r["dimensions"].items()},
        "worst_dataset_id": r["worst_dataset_id"], "worst_score": r["worst_score"],
    } for r in rows])
    table(charts.label_columns(frame), "quality_by_agency")


def _datasets(scores: list[dict]) -> None:
    st.subheader(t("pages.quality.by_dataset"))
    frame = pl.DataFrame([{
        "dataset_id": s["dataset_id"], "dataset_name": s["name"], "agency_name": s["agency_name"],
        "total": s["total"], **{_dimension(d): v for d, v in s["dimensions"].items()},
        "causes": s["causes"], "profiled": s["profiled"], "checked_at": format_datetime(s["checked_at"]),
    } for s in scores])
    table(charts.label_columns(frame), "quality_by_dataset")


def _losses(client, scores: list[dict]) -> None:
    st.subheader(t("pages.quality.lost_points"))
    names = {s["dataset_id"]: f"{s['name'] or s['dataset_id']} ({s['total']})" for s in scores}
    # Only datasets of the user's scope are offered, so an agency sees its own causes only.
    chosen = st.selectbox(t("pages.quality.dataset"), list(names), format_func=names.get,
                          key="quality_dataset")
    losses = quality.lost_points(client, chosen)
    frame = pl.DataFrame([{
        "dimension": _dimension(x["dimension"]), "points": x["points"], "cause": x["cause"],
        "field": x.get("field", ""), "rule": x.get("rule", ""), "count": x.get("count", 0),
        "example": x.get("example", ""),
    } for x in losses], schema=LOSS_SCHEMA)
    table(charts.label_columns(frame), f"quality_losses_{chosen}")


def _overdue(client, filters) -> None:
    st.subheader(t("pages.quality.overdue"))
    rows = quality.overdue_updates(client, filters)
    frame = pl.DataFrame([{
        "dataset_id": r["dataset_id"], "dataset_name": r["name"], "agency_name": r["agency_name"],
        "update_frequency": t(f"pages.quality.frequency.{r['update_frequency']}"),
        "last_updated": "—" if r["never_updated"] else format_datetime(r["last_updated"]),
        "due": format_datetime(r["due"]) if r["due"] else "—", "days_overdue": r["days_overdue"],
    } for r in rows], schema={"dataset_id": pl.String, "dataset_name": pl.String, "agency_name": pl.String,
                              "update_frequency": pl.String, "last_updated": pl.String, "due": pl.String,
                              "days_overdue": pl.Int64})
    table(charts.label_columns(frame), "overdue_updates")


def _trend(client, filters) -> None:
    rows = quality.score_trend(client, dataset_id=filters.dataset_id, agency_id=filters.agency_id)
    if not rows:
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
    _agencies(client, filters)
    _trend(client, filters)
    if scores:
        _datasets(scores)
        _losses(client, scores)
    _overdue(client, filters)


render()
