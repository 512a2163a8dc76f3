"""年度评估 Annual evaluation of the data-providing agencies (第三十七条).

Officials and administrators: the year's state (草稿 / 复核中 / 已定稿) with publish and finalize,
the ranking with grades and the share of points evaluated, the same-basis change on the year
before, every score with its basis, the agencies' objections (复核申请) to answer, their
rectification items, and the report as PDF, DOCX or XLSX.
An agency user: its own result only (scores, lost points and their causes, the city mean, no
other agency's name), an objection during the review window, and its rectification items.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.components import download_button, table, user_error
from dashboard.session import get_client, get_settings, require_role, today
from odwatch.errors import UserError
from odwatch.i18n import format_date, format_number, format_percent, t
from reports import evaluation, evaluation_store
from warehouse import connect

FIRST_YEAR = 2024
GRADE_KEYS = {"优秀": "excellent", "良好": "good", "合格": "pass", "不合格": "fail"}
GRADE_COLOURS = {"excellent": "#15803d", "good": "#65a30d", "pass": "#f59e0b", "fail": "#dc2626"}
EXPORTS = (
    ("pdf", "application/pdf"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
)


def _grade(label: str) -> str:
    return t(f"pages.evaluation.grade.{GRADE_KEYS.get(label, 'fail')}")


def _dimension(key: str) -> str:
    return t(f"pages.evaluation.dim.{key}") if key else t("evaluation.whole_result")


def _status(d: evaluation.DimensionScore) -> str:
    return t(f"evaluation.status.{d.status}")


def _points(d: evaluation.DimensionScore) -> str:
    return format_number(d.points, 2) if d.points is not None else _status(d)


def _change(a: evaluation.AgencyEvaluation) -> str:
    if a.change is None:
        reason = a.comparison.reason if a.comparison else ""
        return t("evaluation.not_comparable", reason=reason)
    basis = "、".join(_dimension(k) for k in a.comparison.basis)
    return t("evaluation.change", change=f"{a.change:+.2f}", basis=basis)


def _state(year: int) -> dict:
    state = evaluation_store.year_state(get_client(), year)
    text = t(f"evaluation.state.{state['state']}", until=format_date(state["review_until"]))
    if state["content_hash"]:
        text += " " + t("evaluation.hash", hash=state["content_hash"][:16])
    (st.success if state["state"] == "final" else st.info)(text)
    return state


def _review_open(state: dict) -> bool:
    return state["state"] == "published" and today() <= state["review_until"]


# ---------------------------------------------------------------- an agency's own view


def _own_scores(result: evaluation.Evaluation, agency: evaluation.AgencyEvaluation) -> None:
    columns = st.columns(5)
    columns[0].metric(t("pages.evaluation.total"), format_number(agency.total, 2))
    columns[1].metric(t("evaluation.grade"), _grade(agency.grade))
    columns[2].metric(t("evaluation.rank"), f"{agency.rank} / {len(result.agencies)}")
    columns[3].metric(t("evaluation.measured_share"), format_percent(agency.measured_share, 0))
    columns[4].metric(t("evaluation.city_mean_total"), format_number(result.mean_total(), 2))
    st.caption(_change(agency))
    city = result.city_mean()
    frame = pl.DataFrame(
        [
            {
                t("evaluation.col.dimension"): _dimension(d.key),
                t("evaluation.col.weight"): d.weight,
                t("evaluation.col.points"): _points(d),
                t("evaluation.col.own_share"): format_percent(d.ratio, 1),
                t("evaluation.col.city_share"): format_percent(city[d.key], 1),
                t("evaluation.col.basis"): evaluation.inputs_text(d),
                t("evaluation.col.lost"): "；".join(d.lost),
            }
            for d in agency.dimensions.values()
        ]
    )
    table(frame, f"evaluation_own_{result.year}", key=f"evaluation_own_{result.year}")
    for note in agency.context:
        st.caption(note)


def _objection_form(year: int, agency_id: str, user, state: dict) -> None:
    if not _review_open(state):
        st.caption(t("evaluation.review_closed"))
        return
    with st.form(f"evaluation_objection_{year}", clear_on_submit=True):
        st.markdown(t("evaluation.objection_form", until=format_date(state["review_until"])))
        dimension = st.selectbox(
            t("evaluation.col.dimension"),
            ["", *evaluation.LABELS],
            format_func=_dimension,
            key="evaluation_objection_dimension",
        )
        reason = st.text_area(t("evaluation.reason"), key="evaluation_objection_reason")
        if st.form_submit_button(t("evaluation.file_objection")):
            try:
                evaluation_store.file_objection(
                    get_client(), year, agency_id, reason, user.username, dimension
                )
                st.success(t("evaluation.objection_filed"))
            except UserError as exc:
                user_error(exc)


def _objections_table(year: int, agency_id: str | None, name: str) -> list[dict]:
    rows = evaluation_store.list_objections(get_client(), year, agency_id)
    frame = pl.DataFrame(
        [
            {
                t("evaluation.col.filed_at"): r["filed_at"],
                t("evaluation.col.dimension"): _dimension(r["dimension"]),
                t("evaluation.reason"): r["reason"],
                t("evaluation.col.status"): t(f"evaluation.objection.{r['status']}"),
                t("evaluation.col.answer"): r["answer"],
                **({"id": r["objection_id"]} if agency_id is None else {}),
            }
            for r in rows
        ]
    )
    table(frame, name, key=name)
    return rows


def _rectification_form(year: int, agency_id: str, user, state: dict) -> None:
    if state["state"] == "draft":
        st.caption(t("evaluation.rectification_after_publish"))
        return
    with st.form(f"evaluation_rectification_{year}", clear_on_submit=True):
        st.markdown(t("evaluation.rectification_form"))
        dimension = st.selectbox(
            t("evaluation.col.dimension"),
            ["", *evaluation.LABELS],
            format_func=_dimension,
            key="evaluation_rectification_dimension",
        )
        description = st.text_input(t("evaluation.description"), key="evaluation_rectification_description")
        due = st.date_input(
            t("evaluation.col.due"), value=today() + timedelta(days=90), key="evaluation_rectification_due"
        )
        if st.form_submit_button(t("evaluation.add_rectification")):
            try:
                evaluation_store.add_rectification(
                    get_client(), year, agency_id, description, due, user.username, dimension
                )
                st.success(t("evaluation.rectification_added"))
            except UserError as exc:
                user_error(exc)


def _rectifications(year: int, agency_id: str | None, user) -> None:
    rows = evaluation_store.list_rectifications(get_client(), year, agency_id)
    frame = pl.DataFrame(
        [
            {
                t("evaluation.col.dimension"): _dimension(r["dimension"]),
                t("evaluation.description"): r["description"],
                t("evaluation.col.due"): r["due_date"],
                t("evaluation.col.status"): t(f"evaluation.rectification.{r['status']}"),
                t("evaluation.col.note"): r["note"],
                **({"id": r["item_id"]} if agency_id is None else {}),
            }
            for r in rows
        ]
    )
    table(frame, f"evaluation_rectifications_{year}", key=f"evaluation_rectifications_{year}")
    if agency_id is None or not rows:
        return
    with st.form(f"evaluation_rectification_update_{year}"):
        item = st.selectbox(
            t("evaluation.item"),
            [r["item_id"] for r in rows],
            format_func={r["item_id"]: r["description"] for r in rows}.get,
            key="evaluation_rectification_item",
        )
        status = st.selectbox(
            t("evaluation.col.status"),
            list(evaluation_store.RECTIFICATION_STATUSES),
            format_func=lambda s: t(f"evaluation.rectification.{s}"),
            key="evaluation_rectification_status",
        )
        note = st.text_input(t("evaluation.col.note"), key="evaluation_rectification_note")
        if st.form_submit_button(t("evaluation.update_rectification")):
            try:
                evaluation_store.update_rectification(
                    get_client(), year, item, status, note, user.username, agency_id=agency_id
                )
                st.success(t("evaluation.rectification_updated"))
            except UserError as exc:
                user_error(exc)


def _agency_view(result: evaluation.Evaluation, user, state: dict) -> None:
    own = [a for a in result.agencies if a.agency_id == user.agency_id]
    if not own:
        st.info(t("evaluation.not_evaluated", year=result.year))
        return
    _own_scores(result, own[0])
    st.subheader(t("evaluation.objections"))
    _objection_form(result.year, user.agency_id, user, state)
    _objections_table(result.year, user.agency_id, f"evaluation_own_objections_{result.year}")
    st.subheader(t("evaluation.rectifications"))
    _rectification_form(result.year, user.agency_id, user, state)
    _rectifications(result.year, user.agency_id, user)


# ---------------------------------------------------------------- officials


def _summary(result: evaluation.Evaluation) -> None:
    grades = [GRADE_KEYS.get(a.grade, "fail") for a in result.agencies]
    columns = st.columns(5)
    columns[0].metric(t("pages.evaluation.agencies"), format_number(len(result.agencies)))
    columns[1].metric(t("pages.evaluation.mean_total"), format_number(result.mean_total(), 1))
    for column, key in zip(columns[2:], ("excellent", "good", "fail"), strict=True):
        column.metric(t(f"pages.evaluation.grade.{key}"), format_number(grades.count(key)))


def _ranking_chart(result: evaluation.Evaluation) -> None:
    frame = pl.DataFrame(
        {
            "agency": [a.name for a in result.agencies],
            "total": [a.total for a in result.agencies],
            "grade": [_grade(a.grade) for a in result.agencies],
        }
    )
    colours = {t(f"pages.evaluation.grade.{k}"): c for k, c in GRADE_COLOURS.items()}
    fig = charts.bar(
        frame,
        "agency",
        "total",
        t("pages.evaluation.ranking_chart", year=result.year),
        labels={"agency": "", "total": t("pages.evaluation.total"), "grade": ""},
        color="grade",
        horizontal=True,
        colours=colours,
    )
    st.plotly_chart(fig, key="evaluation_ranking")


def _ranking(result: evaluation.Evaluation) -> None:
    st.subheader(t("pages.evaluation.ranking"))
    frame = pl.DataFrame(
        [
            {
                t("evaluation.col.rank"): a.rank,
                t("pages.evaluation.agency"): a.name,
                t("pages.evaluation.total"): a.total,
                t("evaluation.grade"): _grade(a.grade),
                t("evaluation.measured_share"): format_percent(a.measured_share, 0),
                **{_dimension(k): _points(a.dimensions[k]) for k in result.weights},
                t("evaluation.col.change"): _change(a),
            }
            for a in result.agencies
        ]
    )
    table(frame, f"evaluation_ranking_{result.year}", key=f"evaluation_ranking_{result.year}")


def _agency_detail(result: evaluation.Evaluation) -> None:
    st.subheader(t("pages.evaluation.agency_detail"))
    names = {a.agency_id: a.name for a in result.agencies}
    chosen = st.selectbox(
        t("pages.evaluation.agency"), list(names), format_func=names.get, key="evaluation_agency"
    )
    agency = result.agency(chosen)
    city = result.city_mean()
    keys = [k for k in result.weights if agency.dimensions[k].ratio is not None and city[k] is not None]
    st.plotly_chart(
        charts.radar(
            [_dimension(k) for k in keys],
            {
                agency.name: [round(agency.dimensions[k].ratio * 100, 1) for k in keys],
                t("pages.evaluation.average"): [round(city[k] * 100, 1) for k in keys],
            },
            t("pages.evaluation.radar_chart", agency=agency.name),
        ),
        key="evaluation_radar",
    )
    frame = pl.DataFrame(
        [
            {
                t("evaluation.col.dimension"): _dimension(d.key),
                t("evaluation.col.weight"): d.weight,
                t("evaluation.col.points"): _points(d),
                t("evaluation.col.rule"): evaluation.RULES[d.key],
                t("evaluation.col.basis"): evaluation.inputs_text(d),
                t("evaluation.col.lost"): "；".join(d.lost),
            }
            for d in agency.dimensions.values()
        ]
    )
    table(frame, f"evaluation_inputs_{result.year}_{chosen}", key=f"evaluation_inputs_{result.year}_{chosen}")
    for note in agency.context:
        st.caption(note)


def _lifecycle(year: int, user, state: dict) -> None:
    st.subheader(t("evaluation.lifecycle"))
    left, right = st.columns(2)
    with left:
        if state["state"] != "final" and st.button(t("evaluation.publish"), key="evaluation_publish"):
            try:
                evaluation_store.publish(get_client(), get_settings(), year, user.username)
                st.rerun()
            except UserError as exc:
                user_error(exc)
    with right:
        if state["state"] == "published" and st.button(t("evaluation.finalize"), key="evaluation_finalize"):
            try:
                evaluation_store.finalize(get_client(), year, user.username)
                st.rerun()
            except UserError as exc:
                user_error(exc)


def _answers(year: int, user) -> None:
    st.subheader(t("evaluation.objections"))
    rows = _objections_table(year, None, f"evaluation_objections_{year}")
    waiting = [r for r in rows if r["status"] == "open"]
    if not waiting:
        return
    with st.form(f"evaluation_answer_{year}", clear_on_submit=True):
        chosen = st.selectbox(
            t("evaluation.objection"),
            [r["objection_id"] for r in waiting],
            format_func={r["objection_id"]: r["reason"][:40] for r in waiting}.get,
            key="evaluation_answer_objection",
        )
        accepted = st.radio(
            t("evaluation.decision"),
            [True, False],
            horizontal=True,
            format_func=lambda v: t(
                "evaluation.objection.accepted" if v else "evaluation.objection.rejected"
            ),
            key="evaluation_answer_accepted",
        )
        answer = st.text_area(t("evaluation.col.answer"), key="evaluation_answer_text")
        if st.form_submit_button(t("evaluation.answer")):
            try:
                evaluation_store.answer_objection(get_client(), year, chosen, accepted, answer, user.username)
                st.success(t("evaluation.answered"))
            except UserError as exc:
                user_error(exc)


def _weights(result: evaluation.Evaluation) -> None:
    st.subheader(t("pages.evaluation.weights"))
    frame = pl.DataFrame(
        {
            t("evaluation.col.dimension"): [_dimension(k) for k in result.weights],
            t("evaluation.col.weight"): list(result.weights.values()),
            t("evaluation.col.rule"): [evaluation.RULES[k] for k in result.weights],
        }
    )
    table(frame, f"evaluation_weights_{result.year}", key=f"evaluation_weights_{result.year}")
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
            download_button(
                t(f"pages.evaluation.export_{fmt}"),
                lambda fmt=fmt: report(fmt),
                f"annual-report-{year}.{fmt}",
                mime,
                f"annual_report_{year}",
                key=f"evaluation_export_{fmt}",
                detail={"year": year},
            )


def render() -> None:
    user = require_role("official", "admin", "agency")
    st.title(t("pages.evaluation.title"))
    this_year = today().year
    year = st.selectbox(
        t("pages.evaluation.year"), list(range(this_year, FIRST_YEAR - 1, -1)), key="evaluation_year"
    )
    # Kept while the warehouse is unchanged (reports.evaluation, warehouse.cache); a published or
    # final year is read back from its stored version.
    result = evaluation_store.evaluate_year(get_client(), get_settings(), year)
    state = _state(year)
    if not result.agencies:
        st.info(t("pages.evaluation.nothing", year=year))
        return
    st.caption(t("pages.evaluation.as_of", as_of=format_date(result.as_of)))
    if user.role == "agency":
        _agency_view(result, user, state)
        return
    _lifecycle(year, user, state)
    _summary(result)
    _ranking_chart(result)
    _ranking(result)
    _agency_detail(result)
    _answers(year, user)
    st.subheader(t("evaluation.rectifications"))
    _rectifications(year, None, user)
    _weights(result)
    _exports(year)


render()
