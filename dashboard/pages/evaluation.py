"""年度评估 Annual evaluation of the data-providing agencies (第六条, 第七条, 第三十七条).

A year picker; the ranking with grades; per agency a radar of the seven
dimensions against the average with every input behind each score; the change on
the year before; the weights in force; and the annual report as PDF, DOCX or XLSX.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.components import download_button, table
from dashboard.session import get_client, get_settings, require_role, today
from odwatch.i18n import format_number, t
from reports import evaluation
from warehouse import connect

FIRST_YEAR = 2024
GRADE_KEYS = {"优秀": "excellent", "良好": "good", "合格": "pass", "不合格": "fail"}
GRADE_COLOURS = {"excellent": "#15803d", "good": "#65a30d", "pass": "#f59e0b", "fail": "#dc2626"}
EXPORTS = (("pdf", "application/pdf"),
           ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
           ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))


def _grade(label: str) -> str:
    return t(f"pages.evaluation.grade.{GRADE_KEYS.get(label, 'fail')}")


def _dimension(key: str) -> str:
    return t(f"pages.evaluation.dim.{key}")


def _ranking(result: evaluation.Evaluation) -> pl.DataFrame:
    return pl.DataFrame([{
        "rank": a.rank, "agency": a.name, "total": a.total, "grade": _grade(a.grade),
        **{_dimension(k): a.dimensions[k].points for k in result.weights},
        "previous_total": a.previous_total, "change": a.change, "rank_change": a.rank_change,
        "capped": a.capped,
    } for a in result.agencies])


def _summary(result: evaluation.Evaluation) -> None:
    grades = [GRADE_KEYS.get(a.grade, "fail") for a in result.agencies]
    totals = [a.total for a in result.agencies]
    columns = st.columns(5)
    columns[0].metric(t("pages.evaluation.agencies"), format_number(len(result.agencies)))
    columns[1].metric(t("pages.evaluation.mean_total"),
                      format_number(sum(totals) / len(totals), 1) if totals else "—")
    for column, key in zip(columns[2:], ("excellent", "good", "fail"), strict=True):
        column.metric(t(f"pages.evaluation.grade.{key}"), format_number(grades.count(key)))


def _ranking_chart(result: evaluation.Evaluation) -> None:
    frame = pl.DataFrame({
        "agency": [a.name for a in result.agencies], "total": [a.total for a in result.agencies],
        "grade": [_grade(a.grade) for a in result.agencies],
    })
    colours = {t(f"pages.evaluation.grade.{k}"): c for k, c in GRADE_COLOURS.items()}
    fig = charts.bar(frame, "agency", "total", t("pages.evaluation.ranking_chart", year=result.year),
                     labels={"agency": "", "total": t("pages.evaluation.total"), "grade": ""},
                     color="grade", horizontal=True, colours=colours)
    st.plotly_chart(fig, key="evaluation_ranking")


def _year_over_year(result: evaluation.Evaluation) -> None:
    rows = [(a.name, result.year - 1, a.previous_total)
            for a in result.agencies if a.previous_total is not None]
    rows += [(a.name, result.year, a.total) for a in result.agencies]
    frame = pl.DataFrame(rows, schema={"agency": pl.String, "year": pl.Int64, "total": pl.Float64},
                         orient="row").with_columns(pl.col("year").cast(pl.String))
    fig = charts.bar(frame, "agency", "total", t("pages.evaluation.yoy_chart"), color="year",
                     labels={"agency": "", "total": t("pages.evaluation.total"), "year": ""})
    fig.update_layout(barmode="group")
    st.plotly_chart(fig, key="evaluation_yoy")


def _agency_detail(result: evaluation.Evaluation) -> None:
    st.subheader(t("pages.evaluation.agency_detail"))
    names = {a.agency_id: a.name for a in result.agencies}
    chosen = st.selectbox(t("pages.evaluation.agency"), list(names), format_func=names.get,
                          key="evaluation_agency")
    agency = result.agency(chosen)
    keys = [k for k in result.weights if k in result.assessed]
    mean = {k: sum((a.dimensions[k].ratio or 0) for a in result.agencies) / len(result.agencies)
            for k in keys}
    st.plotly_chart(charts.radar(
        [_dimension(k) for k in keys],
        {agency.name: [round((agency.dimensions[k].ratio or 0) * 100, 1) for k in keys],
         t("pages.evaluation.average"): [round(mean[k] * 100, 1) for k in keys]},
        t("pages.evaluation.radar_chart", agency=agency.name)), key="evaluation_radar")
    if agency.capped:
        st.warning(t("pages.evaluation.capped"))
    inputs = pl.DataFrame([{
        "dimension": _dimension(d.key), "weight": d.weight, "points": d.points,
        "ratio": None if d.ratio is None else round(d.ratio, 4), "formula": d.formula,
        "inputs": ", ".join(f"{k}={v}" for k, v in d.inputs.items()), "lost": "；".join(d.lost),
    } for d in agency.dimensions.values()])
    table(charts.label_columns(inputs), f"evaluation_inputs_{result.year}_{chosen}")


def _weights(result: evaluation.Evaluation) -> None:
    st.subheader(t("pages.evaluation.weights"))
    frame = pl.DataFrame({
        "dimension": [_dimension(k) for k in result.weights],
        "weight": list(result.weights.values()),
        "assessed": [k in result.assessed for k in result.weights],
    })
    table(charts.label_columns(frame), f"evaluation_weights_{result.year}")
    for note in result.notes:
        st.caption(note)


def _exports(year: int) -> None:
    st.subheader(t("pages.evaluation.export"))
    settings = get_settings()

    def report(fmt: str) -> bytes:
        # Imported on demand: the exporters load matplotlib, reportlab and python-docx.
        from reports.export.annual import write_annual_report

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"annual-{year}.{fmt}"
            # Streamlit calls this when the button is clicked, outside the script run: no session.
            write_annual_report(connect(settings), settings, year, fmt, out)
            return out.read_bytes()

    for column, (fmt, mime) in zip(st.columns(len(EXPORTS)), EXPORTS, strict=True):
        with column:
            download_button(t(f"pages.evaluation.export_{fmt}"), lambda fmt=fmt: report(fmt),
                            f"annual-report-{year}.{fmt}", mime, f"annual_report_{year}",
                            key=f"evaluation_export_{fmt}", detail={"year": year})


def render() -> None:
    require_role("official", "admin")
    st.title(t("pages.evaluation.title"))
    this_year = today().year
    year = st.selectbox(t("pages.evaluation.year"), list(range(this_year, FIRST_YEAR - 1, -1)),
                        key="evaluation_year")
    # Kept while the warehouse is unchanged (reports.evaluation, warehouse.cache): switching years
    # back and forth, or a rerun of the page, computes nothing again; a confirmed violation shows.
    result = evaluation.evaluate_year(get_client(), get_settings(), year)
    if not result.agencies:
        st.info(t("pages.evaluation.nothing", year=year))
        return
    st.caption(t("pages.evaluation.as_of", as_of=result.as_of))
    _summary(result)
    _ranking_chart(result)
    st.subheader(t("pages.evaluation.ranking"))
    table(charts.label_columns(_ranking(result)), f"evaluation_ranking_{year}")
    _year_over_year(result)
    _agency_detail(result)
    _weights(result)
    _exports(year)


render()
