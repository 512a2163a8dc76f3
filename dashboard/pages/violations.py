"""违规记录 Violation records (第三十一条).

The registry by the article's five categories with the measures taken (restrict
or close access, and for how long), the publicity switch, and the downloads the
gateway and the public need: the enforcement list and the public notice. Security
staff, officials and administrators record a violation from a public report (举报), a
complaint or an inspection, with evidence files; each record's details show its reporter
(the contact masked for all but security staff and administrators) and its evidence; the
offender history shows what a consumer, and every account of its credit code, did before.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.components import audit_personal_view, download_button, plain, table, user_error
from dashboard.offenders import offender_panel
from dashboard.session import (
    CONTACT_ROLES,
    current_filters,
    current_user,
    filter_sidebar,
    get_client,
    get_settings,
    mask_name,
)
from detectors import violations
from odwatch.errors import UserError
from odwatch.i18n import format_datetime, format_number, t
from odwatch.vocabulary import SEVERITIES
from reports.export.enforcement import write_enforcement_list
from reports.export.notice import write_public_notice
from warehouse import connect

PAGE_FILTERS = ("dates", "agency")
DECIDING_ROLES = ("security", "admin")
RECORDING_ROLES = ("official", "security", "admin")
CATEGORIES = tuple(violations.VIOLATION_CATEGORIES)
FLASH_KEY = "violations_flash"


def _category_label(category: int) -> str:
    return t(f"pages.violations.category.{category}")


def _measure_text(measures: list[dict]) -> str:
    latest = max(measures, key=lambda m: m["starts_at"], default=None)
    if latest is None:
        return t("pages.violations.measure.none")
    until = format_datetime(latest["ends_at"]) if latest["ends_at"] else t("pages.violations.open_ended")
    action = t(f"pages.violations.measure.{latest['action']}")
    return f"{action} ({format_datetime(latest['starts_at'])} – {until})"


def _registry_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{
        "violation_id": row["violation_id"],
        "recorded_at": format_datetime(row["recorded_at"]),
        "consumer_name": mask_name(row["consumer_name"] or row["consumer_id"], row["consumer_kind"]),
        "dataset_name": row["dataset_name"] or row["dataset_id"],
        "agency_name": row["agency_name"] or row["agency_id"],
        "category": f"{row['article']} {_category_label(row['category'])}",
        "severity": t(f"pages.severity.{row['severity']}") if row["severity"] else "",
        "measure": _measure_text(row["measures"]),
        "publicized": bool(row["publicized"]),
        "alerts": len(row["alert_ids"]),
        "source": t(f"vsrc.source.{row['source']}"),
        "files": int(row["attachments"] or 0),
    } for row in rows], schema={
        "violation_id": pl.String, "recorded_at": pl.String, "consumer_name": pl.String,
        "dataset_name": pl.String, "agency_name": pl.String, "category": pl.String, "severity": pl.String,
        "measure": pl.String, "publicized": pl.Boolean, "alerts": pl.Int64, "source": pl.String,
        "files": pl.Int64,
    })


def _by_category(rows: list[dict]) -> None:
    if not rows:                      # five zero-length bars would read as a broken chart
        st.info(t("pages.common.no_data"))
        return
    counts = {c: 0 for c in CATEGORIES}
    for row in rows:
        counts[row["category"]] = counts.get(row["category"], 0) + 1
    labels = [f"{violations.VIOLATION_NUMERALS[c]} {_category_label(c)}" for c in counts]
    frame = pl.DataFrame({"category": labels, "violations": list(counts.values())})
    st.plotly_chart(charts.bar(frame, "category", "violations", t("pages.violations.by_category"),
                               labels={"category": "", "violations": t("pages.violations.count")},
                               horizontal=True), key="violations_by_category")


def _flash(message: str) -> None:
    """Keep the message over a rerun, so the registry above is redrawn with the change in it."""
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _decide(client, rows: list[dict], actor: str) -> None:
    """Publicity and measures for one record: only the roles that decide them see this."""
    st.subheader(t("pages.violations.decide"))
    chosen = st.selectbox(t("pages.violations.record"), [r["violation_id"] for r in rows],
                          key="violations_record")
    row = next(r for r in rows if r["violation_id"] == chosen)
    _details(client, row, current_user().role)
    publicize = st.toggle(t("pages.violations.publicize"), value=bool(row["publicized"]),
                          key=f"violations_public_{chosen}")
    if publicize != bool(row["publicized"]):
        violations.set_publicized(client, chosen, publicize, actor)
        _flash(t("pages.violations.publicity_saved" if publicize else "pages.violations.publicity_removed"))
    with st.form("violations_measure"):
        action = st.radio(t("pages.violations.measure_action"), ("restrict", "close"), horizontal=True,
                          format_func=lambda a: t(f"pages.violations.measure.{a}"),
                          key="violations_measure_action")
        days = st.number_input(t("pages.violations.measure_days"), min_value=0, max_value=3650, value=90,
                               help=t("pages.violations.measure_days_help"), key="violations_measure_days")
        reason = st.text_input(t("pages.violations.measure_reason"), key="violations_measure_reason")
        if st.form_submit_button(t("pages.violations.measure_submit")):
            violations.add_measure(client, chosen, action, actor, days=int(days) or None, reason=reason)
            _flash(t("pages.violations.measure_saved"))


def _category_choice(category: int) -> str:
    return f"{violations.VIOLATION_NUMERALS[category]} {_category_label(category)}"


def _consumer_label(consumer: dict) -> str:
    return f"{mask_name(consumer['name'], consumer['kind'])}（{consumer['consumer_id']}）"


def _record_form(client, role: str, actor: str) -> None:
    """A violation from a report, a complaint or an inspection, with evidence files."""
    settings = get_settings()
    consumers = {c["consumer_id"]: c for c in violations.consumer_choices(client)}
    datasets = {d["dataset_id"]: d["name"] for d in violations.dataset_choices(client)}
    st.subheader(t("vsrc.record"))
    with st.form("violations_record_form", clear_on_submit=True):
        left, right = st.columns(2)
        source = left.radio(t("vsrc.source"), violations.OTHER_SOURCES, horizontal=True, key="vrec_source",
                            format_func=lambda s: t(f"vsrc.source.{s}"))
        consumer = left.selectbox(
            t("vsrc.consumer"), list(consumers), index=None, key="vrec_consumer",
            help=t("vsrc.consumer_help"), placeholder=t("vsrc.choose"),
            format_func=lambda c: _consumer_label(consumers[c]))
        client_ip = left.text_input(t("vsrc.client_ip"), key="vrec_ip")
        dataset = left.selectbox(t("vsrc.dataset"), list(datasets), index=None, key="vrec_dataset",
                                 placeholder=t("vsrc.choose"), format_func=lambda d: f"{datasets[d]}（{d}）")
        category = right.selectbox(t("vsrc.category"), CATEGORIES, key="vrec_category",
                                   format_func=_category_choice)
        severity = right.selectbox(t("vsrc.severity"), SEVERITIES, index=1, key="vrec_severity",
                                   format_func=lambda s: t(f"pages.severity.{s}"))
        reporter_name = right.text_input(t("vsrc.reporter_name"), key="vrec_reporter")
        reporter_contact = right.text_input(t("vsrc.reporter_contact"), key="vrec_contact",
                                            help=t("vsrc.reporter_help"))
        source_ref = right.text_input(t("vsrc.source_ref"), key="vrec_ref")
        description = st.text_area(t("vsrc.description"), key="vrec_description")
        alert_ids = st.text_input(t("vsrc.alert_ids"), key="vrec_alerts")
        limit = format_number(settings.evidence_max_bytes / 1048576, 0)
        files = st.file_uploader(t("vsrc.files"), accept_multiple_files=True, key="vrec_files",
                                 help=t("vsrc.files_help", mb=limit))
        measure, days = "none", 0
        if role in DECIDING_ROLES:
            left, right = st.columns(2)
            measure = left.radio(t("vsrc.measure"), violations.MEASURES, horizontal=True, key="vrec_measure",
                                 format_func=lambda m: t(f"pages.violations.measure.{m}"))
            days = right.number_input(t("vsrc.measure_days"), min_value=0, max_value=3650, value=0,
                                      key="vrec_days")
        if not st.form_submit_button(t("vsrc.submit"), type="primary"):
            return
    evidence = [violations.Evidence(f.name, f.getvalue()) for f in files or []]
    try:
        violation_id = violations.record_from_source(
            client, source=source, category=int(category), actor=actor, description=description,
            data_dir=settings.data_dir, max_bytes=settings.evidence_max_bytes, consumer_id=consumer or "",
            client_ip=client_ip, dataset_id=dataset or "", reporter_name=reporter_name,
            reporter_contact=reporter_contact, source_ref=source_ref,
            alert_ids=[a.strip() for a in alert_ids.split(",") if a.strip()], evidence=evidence,
            measure=measure, measure_days=int(days) or None, severity=severity)
    except UserError as exc:
        user_error(exc)
        return
    _flash(t("vsrc.saved", violation_id=violation_id, files=len(evidence)))


def _details(client, row: dict, role: str) -> None:
    """One record's reporter and evidence files (downloads audited)."""
    with st.expander(t("vsrc.details"), expanded=row["source"] != "alert"):
        source = t(f"vsrc.source.{row['source']}")
        st.caption(f"{t('pages.col.source')}：{source}"
                   + (f"（{plain(row['source_ref'])}）" if row["source_ref"] else ""))
        if row["reporter_name"] or row["reporter_contact"]:
            contact = (row["reporter_contact"] if role in CONTACT_ROLES
                       else violations.mask_contact(row["reporter_contact"]))
            name = (row["reporter_name"] if role in CONTACT_ROLES
                    else mask_name(row["reporter_name"], "person", role="agency"))
            st.markdown(t("vsrc.reporter", name=plain(name or "—"), contact=plain(contact or "—")))
        else:
            st.caption(t("vsrc.no_reporter"))
        files = violations.attachments(client, row["violation_id"])
        if not files:
            st.caption(t("vsrc.no_files"))
        settings = get_settings()
        for index, file in enumerate(files):
            download_button(t("vsrc.download", name=file["file_name"]),
                            lambda f=file: violations.read_attachment(settings.data_dir, f),
                            file["file_name"],
                            file["media_type"], "violation_evidence", key=f"violations_file_{index}",
                            detail={"violation_id": row["violation_id"], "sha256": file["sha256"]})


def _offenders(client, rows: list[dict]) -> None:
    st.subheader(t("vsrc.offenders"))
    consumers = {c["consumer_id"]: c for c in violations.consumer_choices(client)}
    seen = [r["consumer_id"] for r in rows if r["consumer_id"] in consumers]
    options = list(dict.fromkeys([*seen, *consumers]))
    if not options:
        st.info(t("pages.common.no_data"))
        return
    chosen = st.selectbox(t("vsrc.offender_pick"), options, key="violations_offender",
                          format_func=lambda c: _consumer_label(consumers[c]))
    offender_panel(client, chosen, key="violations_offender")


def written(writer, client, fmt: str) -> bytes:
    """The bytes of an exporter's file, written to a temporary directory and read back."""
    with tempfile.TemporaryDirectory() as tmp:
        return writer(client, fmt, Path(tmp) / f"export.{fmt}").read_bytes()


DOWNLOADS = (
    ("enforcement_json", write_enforcement_list, "json", "application/json", "enforcement_list"),
    ("enforcement_csv", write_enforcement_list, "csv", "text/csv", "enforcement_list"),
    ("notice_pdf", write_public_notice, "pdf", "application/pdf", "public_notice"),
    ("notice_docx", write_public_notice, "docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "public_notice"),
)


def _downloads() -> None:
    st.subheader(t("pages.violations.downloads"))
    settings = get_settings()
    for column, (label, writer, fmt, mime, name) in zip(st.columns(len(DOWNLOADS)), DOWNLOADS, strict=True):
        with column:
            # Produced when the button is clicked, outside the script run: the session's client may
            # be busy with its next run then.
            download_button(t(f"pages.violations.{label}"),
                            lambda w=writer, f=fmt: written(w, connect(settings), f),
                            f"{name}.{fmt}", mime, name, key=f"violations_{label}")


def render() -> None:
    st.title(t("pages.violations.title"))
    if FLASH_KEY in st.session_state:
        st.success(st.session_state.pop(FLASH_KEY))
    user = current_user()
    filter_sidebar(show=PAGE_FILTERS)
    filters = current_filters()
    audit_personal_view("violations", filters, ("names", "contacts"))
    client = get_client()
    left, right = st.columns(2)
    years = list(range(filters.date_to.year, filters.date_to.year - 5, -1))
    year = left.selectbox(t("pages.violations.year"), [None, *years], index=1, key="violations_year",
                          format_func=lambda y: t("pages.common.all") if y is None else str(y))
    category = right.selectbox(
        t("pages.violations.category_filter"), [None, *CATEGORIES], key="violations_cat",
        format_func=lambda c: t("pages.common.all") if c is None
        else f"{violations.VIOLATION_NUMERALS[c]} {_category_label(c)}")
    rows = violations.list_violations(client, year=year, agency_id=filters.agency_id, category=category)
    columns = st.columns(3)
    columns[0].metric(t("pages.violations.records"), format_number(len(rows)))
    measured = sum(1 for r in rows if any(m["action"] != "none" for m in r["measures"]))
    columns[1].metric(t("pages.violations.with_measures"), format_number(measured))
    columns[2].metric(t("pages.violations.publicized"),
                      format_number(sum(1 for r in rows if r["publicized"])))
    _by_category(rows)
    st.subheader(t("pages.violations.registry"))
    table(charts.label_columns(_registry_frame(rows)), "violations")
    if user is not None and user.role in DECIDING_ROLES and rows:
        _decide(client, rows, user.username)
    if user is not None and user.role in RECORDING_ROLES:
        _record_form(client, user.role, user.username)
    if user is not None and user.role != "agency":
        _offenders(client, rows)
    if user is not None and user.role in DECIDING_ROLES:
        _downloads()


render()
