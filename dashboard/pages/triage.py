"""告警研判 Alert triage (第三十条, 第三十一条) for security staff and administrators.

A queue of alerts, worst severity first and oldest first within it, narrowed by
category, severity, status, dataset, consumer and assignee; the detail of one
alert with its evidence drawn (calls per minute, the IPs and networks, the fields
requested against those allowed, the page sequence) and its history; and the
actions acknowledge, assign, dismiss with a reason and confirm as a violation, on
one alert or many. Every action is written by detectors.triage (alert_events and
the audit log); the page reruns so the queue and the history show it at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.components import (
    CSV_MIME,
    XLSX_MIME,
    audit_personal_view,
    csv_bytes,
    download_button,
    plain,
    severity_metrics,
    user_error,
    xlsx_bytes,
)
from dashboard.offenders import offender_panel
from dashboard.session import current_filters, filter_sidebar, get_client, mask_ip, require_role, today
from detectors import store, triage
from detectors.messages import evidence_lines
from detectors.store import AlertFilters
from odwatch.errors import UserError
from odwatch.i18n import format_datetime, format_number, t
from odwatch.vocabulary import ALERT_CATEGORIES, MEASURES, SEVERITIES, VIOLATION_NUMERALS

PAGE_FILTERS = ("dates", "agency", "dataset")
STATUSES = ("open", "new", "acknowledged", "confirmed", "dismissed", "all")
OPEN_STATUSES = ("new", "acknowledged")
FLASH_KEY = "triage_flash"
SELECTED_KEY = "triage_selected"
QUEUE_LIMIT = 500


# ---- the queue ----------------------------------------------------------------

def _queue_filters() -> dict[str, Any]:
    columns = st.columns(6)
    return {
        "category": columns[0].selectbox(
            t("pages.triage.category"), [None, *ALERT_CATEGORIES], key="triage_category",
            format_func=lambda c: t("pages.common.all") if c is None else t(f"pages.triage.cat.{c}")),
        "severity": columns[1].selectbox(
            t("pages.triage.severity"), [None, *reversed(SEVERITIES)], key="triage_severity",
            format_func=lambda s: t("pages.common.all") if s is None else t(f"pages.severity.{s}")),
        "status": columns[2].selectbox(
            t("pages.triage.status"), STATUSES, key="triage_status",
            format_func=lambda s: t(f"pages.triage.state.{s}")),
        "consumer_id": columns[3].text_input(t("pages.triage.consumer"),
                                             key="triage_consumer").strip() or None,
        "entity": columns[4].text_input(t("pages.triage.entity"), key="triage_entity").strip() or None,
        "assignee": columns[5].text_input(t("pages.triage.assignee"), key="triage_assignee").strip() or None,
    }


def load_queue(client, filters, chosen: dict[str, Any]) -> list[dict]:
    """The alerts in the queue, worst severity first, then the oldest (longest waiting) first."""
    status = chosen["status"]
    statuses = OPEN_STATUSES if status == "open" else (None,) if status == "all" else (status,)
    rows: list[dict] = []
    for one in statuses:
        rows += store.list_alerts(client, AlertFilters(
            category=chosen["category"], severity=chosen["severity"], status=one,
            dataset_id=filters.dataset_id, consumer_id=chosen["consumer_id"], entity=chosen["entity"],
            assignee=chosen["assignee"], agency_id=filters.agency_id, date_from=filters.date_from,
            date_to=filters.date_to, limit=QUEUE_LIMIT))
    return sorted(rows, key=lambda r: (-SEVERITIES.index(r["severity"]), r["window_start"], r["alert_id"]))


def _entity(row: dict) -> str:
    if row["consumer_id"]:
        return row["consumer_id"]
    if row["key_id"]:
        return t("alerts.who.key", key=row["key_id"])
    return mask_ip(row["client_ip"])


def _age(row: dict, now: datetime) -> str:
    hours = max((now - row["window_end"]).total_seconds() / 3600, 0)
    return t("pages.triage.age_days", days=int(hours // 24)) if hours >= 48 else \
        t("pages.triage.age_hours", hours=int(hours))


def _queue_frame(rows: list[dict]) -> pl.DataFrame:
    now = datetime.now(rows[0]["window_end"].tzinfo) if rows else None
    return pl.DataFrame([{
        "severity": t(f"pages.severity.{r['severity']}"),
        "category": t(f"pages.triage.cat.{r['category']}"),
        "title": r["title"],
        "entity": _entity(r),
        "dataset_id": r["dataset_id"],
        "window": f"{format_datetime(r['window_start'])} – {format_datetime(r['window_end'])}",
        "age": _age(r, now),
        "status": t(f"pages.triage.state.{r['status']}"),
        "assignee": r["assignee"],
        "score": round(float(r["score"]), 2),
        "alert_id": r["alert_id"],
    } for r in rows], schema={
        "severity": pl.String, "category": pl.String, "title": pl.String, "entity": pl.String,
        "dataset_id": pl.String, "window": pl.String, "age": pl.String, "status": pl.String,
        "assignee": pl.String, "score": pl.Float64, "alert_id": pl.String,
    })


def _queue(rows: list[dict]) -> None:
    """The queue table; rows picked in it become the selection the actions apply to."""
    frame = charts.label_columns(_queue_frame(rows))
    event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun",
                         selection_mode="multi-row", key="triage_queue")
    picked = [rows[i]["alert_id"] for i in (event.selection.rows if event else []) if i < len(rows)]
    # A new pick in the table replaces the selection box's content; otherwise the box rules.
    if picked != st.session_state.get("triage_last_pick", []):
        st.session_state["triage_last_pick"] = picked
        st.session_state[SELECTED_KEY] = picked
    left, right, _ = st.columns([1, 1, 6])
    with left:
        download_button(t("shell.download_csv"), lambda: csv_bytes(frame), "alert_queue.csv", CSV_MIME,
                        "alert_queue", key="csv_alert_queue", detail={"rows": frame.height})
    with right:
        download_button(t("shell.download_xlsx"), lambda: xlsx_bytes(frame, "alerts"), "alert_queue.xlsx",
                        XLSX_MIME, "alert_queue", key="xlsx_alert_queue", detail={"rows": frame.height})


# ---- actions ------------------------------------------------------------------

def _label(row: dict) -> str:
    severity = t(f"pages.severity.{row['severity']}")
    return f"[{severity}] {row['title']}"


def _flash(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _acknowledged_first(client, rows: list[dict], ids: list[str], actor: str) -> None:
    """Dismissing or confirming a new alert acknowledges it first, so its history shows both steps."""
    status = {r["alert_id"]: r["status"] for r in rows}
    new = [i for i in ids if status.get(i) == "new"]
    if new:
        triage.acknowledge(client, new, actor)


def _act(action, *args) -> bool:
    """Run one triage call; a refusal (wrong state, missing reason) is shown as a sentence."""
    try:
        action(*args)
    except UserError as exc:
        user_error(exc)
        return False
    return True


def _actions(client, rows: list[dict], actor: str) -> None:
    st.subheader(t("pages.triage.actions"))
    labels = {r["alert_id"]: _label(r) for r in rows}
    st.session_state[SELECTED_KEY] = [i for i in st.session_state.get(SELECTED_KEY, []) if i in labels]
    ids = st.multiselect(t("pages.triage.selected"), list(labels), format_func=labels.get, key=SELECTED_KEY,
                         help=t("pages.triage.selected_help"))
    count = len(ids)
    ack, assign_tab, dismiss_tab, confirm_tab = st.tabs([
        t("pages.triage.acknowledge"), t("pages.triage.assign"), t("pages.triage.dismiss"),
        t("pages.triage.confirm")])
    with ack:
        if st.button(t("pages.triage.acknowledge_n", n=count), key="triage_ack", disabled=not ids) \
                and _act(triage.acknowledge, client, ids, actor):
            _flash(t("pages.triage.done_acknowledged", n=count))
    with assign_tab:
        assignee = st.text_input(t("pages.triage.assign_to"), key="triage_assign_to")
        if st.button(t("pages.triage.assign_n", n=count), key="triage_assign", disabled=not ids) \
                and _act(triage.assign, client, ids, assignee, actor):
            _flash(t("pages.triage.done_assigned", n=count, assignee=assignee.strip()))
    with dismiss_tab:
        reason = st.text_input(t("pages.triage.reason"), key="triage_reason")
        if st.button(t("pages.triage.dismiss_n", n=count), key="triage_dismiss", disabled=not ids):
            if not reason.strip():
                st.warning(t("pages.triage.reason_required"))
            elif (_act(_acknowledged_first, client, rows, ids, actor)
                  and _act(triage.dismiss, client, ids, reason, actor)):
                _flash(t("pages.triage.done_dismissed", n=count))
    with confirm_tab:
        _confirm_form(client, rows, ids, actor)


def _confirm_form(client, rows: list[dict], ids: list[str], actor: str) -> None:
    by_id = {r["alert_id"]: r for r in rows}
    suggested = triage.SUGGESTED_VIOLATION_CATEGORY.get(by_id[ids[0]]["category"], 5) if ids else 5
    categories = list(VIOLATION_NUMERALS)
    category = st.selectbox(
        t("pages.triage.violation_category"), categories, index=categories.index(suggested),
        key=f"triage_vcat_{suggested}",
        format_func=lambda c: f"{VIOLATION_NUMERALS[c]} {t(f'pages.violations.category.{c}')}")
    measure = st.radio(t("pages.triage.measure"), MEASURES, horizontal=True, key="triage_measure",
                       format_func=lambda m: t(f"pages.violations.measure.{m}"))
    days = st.number_input(t("pages.triage.measure_days"), 0, 3650, 30, key="triage_measure_days",
                           disabled=measure == "none")
    description = st.text_area(t("pages.triage.description"), key="triage_description")
    if st.button(t("pages.triage.confirm_n", n=len(ids)), key="triage_confirm", disabled=not ids,
                 type="primary"):
        result: list[str] = []

        def run() -> None:
            _acknowledged_first(client, rows, ids, actor)
            result.append(triage.confirm(client, ids, actor, category, measure,
                                         int(days) if measure != "none" and days else None, description))

        if _act(run):
            _flash(t("pages.triage.done_confirmed", n=len(ids), violation_id=result[0]))


# ---- one alert's detail ---------------------------------------------------------

def _series(evidence: dict) -> None:
    if evidence.get("per_minute"):
        frame = pl.DataFrame(evidence["per_minute"], schema={"minute": pl.String, "calls": pl.Int64},
                             orient="row").with_columns(pl.col("minute").str.to_datetime("%Y-%m-%d %H:%M"))
        st.plotly_chart(charts.line(frame, "minute", "calls", t("pages.triage.per_minute"),
                                    labels={"minute": "", "calls": t("pages.triage.calls")}),
                        key="triage_per_minute")
    elif evidence.get("calls_by_hour"):
        hours = evidence["calls_by_hour"]
        frame = pl.DataFrame({"hour": list(hours), "calls": [int(v) for v in hours.values()]})
        labels = {"hour": t("pages.triage.hour"), "calls": t("pages.triage.calls")}
        st.plotly_chart(charts.bar(frame, "hour", "calls", t("pages.triage.by_hour"), labels=labels),
                        key="triage_by_hour")


def ip_rows(evidence: dict) -> list[dict]:
    """Every address and network the evidence names, with its calls where known, masked per role."""
    calls: dict[str, int | None] = {}
    for ip in evidence.get("client_ips", []) or []:
        calls.setdefault(ip, None)
    for ip, n in (evidence.get("ips_outside_allowlist") or {}).items():
        calls[ip] = int(n)
    rows = [{"address": mask_ip(ip), "kind": t("pages.triage.ip"), "calls": n} for ip, n in calls.items()]
    networks: dict[str, int | None] = {n: None for n in evidence.get("networks", []) or []}
    for hour in evidence.get("shared_hours", []) or []:
        for network, n in (hour.get("calls_by_network") or {}).items():
            networks[network] = (networks.get(network) or 0) + int(n)
    rows += [{"address": mask_ip(net.split("/")[0]) + ("/" + net.split("/")[1] if "/" in net else ""),
              "kind": t("pages.triage.network"), "calls": n} for net, n in networks.items()]
    return rows


def field_rows(evidence: dict) -> list[dict]:
    """Fields requested against the agreement's allowed fields."""
    outside = evidence.get("fields_outside_agreement") or {}
    allowed = evidence.get("allowed_fields") or []
    rows = [{"field": f, "allowed": False, "calls": int(n)} for f, n in outside.items()]
    return rows + [{"field": f, "allowed": True, "calls": None} for f in allowed if f not in outside]


def _pages(evidence: dict) -> None:
    if "first_page" not in evidence:
        return
    st.markdown(f"**{t('pages.triage.page_sequence')}**")
    columns = st.columns(5)
    columns[0].metric(t("pages.triage.first_page"), format_number(evidence["first_page"]))
    columns[1].metric(t("pages.triage.last_page"), format_number(evidence["last_page"]))
    columns[2].metric(t("pages.triage.distinct_pages"), format_number(evidence.get("distinct_pages")))
    columns[3].metric(t("pages.triage.longest_run"), format_number(evidence.get("longest_run")))
    columns[4].metric(t("pages.triage.missing_pages"), format_number(evidence.get("missing_pages")))
    gaps = evidence.get("gaps") or []
    if gaps:
        st.caption(t("pages.triage.gaps", gaps=", ".join(f"{a}–{b}" for a, b in gaps)))


SHOWN_ELSEWHERE = {"per_minute", "calls_by_hour", "client_ips", "ips_outside_allowlist", "networks",
                   "shared_hours", "fields_outside_agreement", "allowed_fields", "first_page", "last_page",
                   "distinct_pages", "longest_run", "missing_pages", "gaps"}


def _evidence_summary(evidence: dict) -> None:
    """The evidence a reader scans first, labelled in the session's language (detectors.messages)."""
    lines = evidence_lines(evidence)
    if lines:
        st.markdown(f"**{t('alerts.panel.summary')}**")
        frame = pl.DataFrame(lines, schema={"item": pl.String, "value": pl.String})
        st.dataframe(frame.rename({"item": t("alerts.panel.item"), "value": t("alerts.panel.value")}),
                     hide_index=True, width="stretch")


def _other_evidence(evidence: dict) -> None:
    rest = {k: v for k, v in evidence.items() if k not in SHOWN_ELSEWHERE}
    if rest:
        with st.expander(t("pages.triage.other_evidence")):
            st.json(rest)


def _detail(client, rows: list[dict]) -> None:
    st.subheader(t("pages.triage.detail"))
    labels = {r["alert_id"]: _label(r) for r in rows}
    selected = [i for i in st.session_state.get(SELECTED_KEY, []) if i in labels]
    chosen = st.selectbox(t("pages.triage.alert"), list(labels), format_func=labels.get,
                          index=list(labels).index(selected[0]) if selected else 0, key="triage_detail")
    alert = store.get_alert(client, chosen)
    if alert is None:
        return
    columns = st.columns(4)
    columns[0].metric(t("pages.triage.severity"), t(f"pages.severity.{alert['severity']}"))
    columns[1].metric(t("pages.triage.status"), t(f"pages.triage.state.{alert['status']}"))
    columns[2].metric(t("pages.triage.assignee"), alert["assignee"] or "—")
    columns[3].metric(t("pages.triage.score"), format_number(float(alert["score"]), 2))
    st.markdown(f"**{plain(alert['title'])}**")     # the title carries what a caller sent
    st.caption(t("pages.triage.alert_caption", article=alert["article"], detector=alert["detector_id"],
                 start=format_datetime(alert["window_start"]), end=format_datetime(alert["window_end"]),
                 group=alert["group_size"]))
    offender_panel(client, alert["consumer_id"], key="triage_offender",
                   deciding=alert["status"] in OPEN_STATUSES)
    evidence = alert["evidence"]
    _evidence_summary(evidence)
    _series(evidence)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('pages.triage.ips')}**")
        ips = pl.DataFrame(ip_rows(evidence), schema={"address": pl.String, "kind": pl.String,
                                                      "calls": pl.Int64})
        st.dataframe(charts.label_columns(ips), hide_index=True, width="stretch")
    with right:
        st.markdown(f"**{t('pages.triage.fields')}**")
        fields = pl.DataFrame(field_rows(evidence), schema={"field": pl.String, "allowed": pl.Boolean,
                                                            "calls": pl.Int64})
        st.dataframe(charts.label_columns(fields), hide_index=True, width="stretch")
    _pages(evidence)
    _other_evidence(evidence)
    st.markdown(f"**{t('pages.triage.history')}**")
    history = pl.DataFrame([{
        "at": format_datetime(e["at"], seconds=True), "actor": e["actor"],
        "action": t(f"pages.triage.action.{e['action']}"), "status": t(f"pages.triage.state.{e['status']}"),
        "assignee": e["assignee"], "reason": e["reason"], "violation_id": e["violation_id"],
    } for e in alert["history"]], schema={k: pl.String for k in (
        "at", "actor", "action", "status", "assignee", "reason", "violation_id")})
    if history.is_empty():
        st.caption(t("pages.triage.no_history"))
    else:
        st.dataframe(charts.label_columns(history), hide_index=True, width="stretch")


def render() -> None:
    user = require_role("security", "admin")
    st.title(t("pages.triage.title"))
    if FLASH_KEY in st.session_state:
        st.success(st.session_state.pop(FLASH_KEY))
    filter_sidebar(show=PAGE_FILTERS)
    filters = current_filters()
    audit_personal_view("triage", filters, ("ip", "names"))
    client = get_client()
    # Open alerts within the sidebar's filters, as the open queue lists them before its own filters.
    counts = store.alert_counts_by_severity(
        client, agency_id=filters.agency_id, dataset_id=filters.dataset_id,
        date_from=filters.date_from, date_to=filters.date_to)
    severity_metrics(counts, "pages.triage.open_severity")
    chosen = _queue_filters()
    rows = load_queue(client, filters, chosen)
    st.caption(t("pages.triage.queue_caption", n=len(rows), today=today()))
    if not rows:
        st.info(t("pages.triage.empty"))
        return
    _queue(rows)
    _actions(client, rows, user.username)
    _detail(client, rows)


render()
