"""系统管理 Administration (admin only): ingest, uploads, detector schedule, notification channels and
their health (a failing channel is shown here, with its reason), audit trail, accounts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from dashboard import auth, components, jobs, session
from ingest import spool
from ingest.contract import REFERENCE_TABLES
from odwatch import vocabulary
from odwatch.errors import UserError
from odwatch.i18n import format_datetime, format_number, labels, t
from reports import admin
from reports.notify import health as notify_health
from reports.notify import outbox
from warehouse import audit

LOG_SUFFIXES = (".jsonl", ".json", ".csv", ".log", ".gz", ".zst")

user = session.require_role("admin")
client = session.get_client()
settings = session.get_settings()

st.title(t("nav.admin"))
ingest_tab, upload_tab, jobs_tab, notify_tab, audit_tab, users_tab = st.tabs(
    [t("admin.tab.ingest"), t("admin.tab.upload"), t("admin.tab.jobs"), t("admin.tab.notify"),
     t("admin.tab.audit"), t("admin.tab.users")])


def _reference_table(name: str) -> str | None:
    stem, _, suffix = name.partition(".")
    return stem if stem in REFERENCE_TABLES and suffix in ("csv", "jsonl") else None


def _ingest_upload(uploaded) -> None:
    """Write the upload under its own name in a fresh folder and hand it to the ingest package."""
    # Kept under the data directory: ingest_batches.source points at the file.
    uploads = settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=uploads))
    path = folder / Path(uploaded.name).name
    path.write_bytes(uploaded.getvalue())
    table = _reference_table(path.name)
    if table:
        from ingest.reference import load_reference_dir

        results = load_reference_dir(client, folder)
        detail = {name: {"loaded": r.loaded, "rejected": r.rejected} for name, r in results.items()}
        st.success(t("admin.upload.reference_done", table=table,
                     loaded=format_number(sum(r.loaded for r in results.values())),
                     rejected=format_number(sum(r.rejected for r in results.values()))))
    elif path.name.lower().endswith(LOG_SUFFIXES):
        from ingest.loader import ingest_paths

        summary = ingest_paths(client, [path], settings=settings)
        detail = summary.as_dict()
        st.success(t("admin.upload.log_done", inserted=format_number(summary.inserted),
                     duplicates=format_number(summary.duplicates), rejected=format_number(summary.rejected)))
    else:
        raise UserError(t("admin.upload.unknown", name=path.name))
    audit.record(client, user.username, "upload", "file", path.name, detail)
    jobs.evaluate_soon()


def _spool_state() -> None:
    """Files waiting in the spool, and files set aside because they failed (each with its reason)."""
    st.subheader(t("admin.spool.title"))
    st.caption(t("admin.spool.waiting", count=format_number(len(spool.pending_files(settings))),
                 folder=str(settings.spool_dir)))
    aside = spool.set_aside_files(settings)
    if aside:
        st.warning(t("admin.spool.set_aside", count=format_number(len(aside)),
                     folder=str(settings.spool_dir / "failed")))
    components.table([{"name": f.name, "reason": f.reason, "set_aside_at": f.set_aside_at, "size": f.size}
                      for f in aside], "spool_set_aside",
                     labels=labels(["name", "reason", "set_aside_at", "size"], "admin.col"))


with ingest_tab:
    st.subheader(t("admin.reasons"))
    components.table(admin.reject_reasons(client), "reject_reasons",
                     labels=labels(["reason", "rows", "batches", "last_seen"], "admin.col"))
    st.subheader(t("admin.batches"))
    batches = admin.recent_batches(client)
    components.table(batches, "ingest_batches", labels=labels(batches.columns, "admin.col"))
    with_rejects = batches.filter(batches["rejected"] > 0)["batch_id"].to_list() if batches.height else []
    if with_rejects:
        chosen = st.selectbox(t("admin.rejected_of"), with_rejects, key="admin_batch")
        rejected = admin.rejected_rows(client, chosen)
        components.table(rejected, "rejected_rows", labels=labels(rejected.columns, "admin.col"))
    _spool_state()

with upload_tab:
    st.caption(t("admin.upload.help", tables=", ".join(f"{name}.csv" for name in REFERENCE_TABLES)))
    uploaded = st.file_uploader(t("admin.upload.label"), key="admin_upload")
    if uploaded is not None and st.button(t("admin.upload.submit"), key="admin_upload_go", type="primary"):
        try:
            _ingest_upload(uploaded)
        except UserError as exc:
            components.user_error(exc)

def _job_card(scheduler: jobs.Scheduler, name: str, status: jobs.JobStatus) -> None:
    st.markdown(f"**{t(f'admin.jobs.{name}')}**")
    cols = st.columns(4)
    cols[0].metric(t("admin.jobs.every"), t("admin.jobs.seconds", n=format_number(status.every_s)))
    cols[1].metric(t("admin.jobs.runs"), format_number(status.runs))
    cols[2].metric(t("admin.jobs.last_finished"), format_datetime(status.last_finished, seconds=True))
    cols[3].metric(t("admin.jobs.next_due"), format_datetime(status.next_due, seconds=True))
    if status.running:
        st.info(t("admin.jobs.running"))
    if status.last_error:
        st.warning(t("admin.jobs.failed", error=status.last_error))
    elif status.last_result:
        st.caption(t("admin.jobs.result", result=status.last_result))
    if st.button(t("admin.jobs.run_now"), key=f"admin_run_{name}"):
        scheduler.trigger(name)
        audit.record(client, user.username, "job_triggered", "job", name)
        st.toast(t("admin.jobs.triggered"))


def _verify_audit() -> None:
    count, problems = audit.verify(client)
    if not problems:
        st.success(t("admin.audit.intact", count=format_number(count)))
        return
    st.error(t("admin.audit.broken", problems=format_number(len(problems)), count=format_number(count)))
    components.table([{"seq": p.seq, "problem": p.problem} for p in problems], "audit_problems")


with jobs_tab:
    scheduler = jobs.current()
    if scheduler is None:
        st.info(t("admin.jobs.not_serving"))
    else:
        for name, status in scheduler.jobs.items():
            with st.container(border=True):
                _job_card(scheduler, name, status)
    totals = admin.alert_totals(client)
    st.metric(t("admin.alerts_total"), format_number(totals["alerts"]))
    st.subheader(t("admin.runs"))
    runs = admin.detector_runs(client)
    components.table(runs, "detector_runs", labels=labels(runs.columns, "admin.col"))

def _channel_state(row: dict) -> str:
    if not row["enabled"]:
        return t("admin.notify.state.disabled")
    if row["failing"]:
        return t("admin.notify.state.failing")
    return t("admin.notify.state.ok" if row["last_ok"] else "admin.notify.state.idle")


def _send_test(name: str) -> None:
    outcome = outbox.send_test_message(client, settings, settings.notify.channel(name))
    audit.record(client, user.username, "notify.test", "channel", name, {"outcome": outcome.status})
    if outcome.status == "sent":
        st.success(t("admin.notify.test_sent", name=name))
    elif outcome.status == "waiting":
        st.warning(outcome.reason)
    else:
        st.error(t("admin.notify.test_failed", reason=outcome.reason))


def _notifications() -> None:
    if not settings.notify.channels:
        st.info(t("admin.notify.none"))
        return
    rows = notify_health.channel_health(client, settings)
    failing = [r for r in rows if r["failing"]]
    for row in failing:
        st.error(t("admin.notify.failing", name=row["name"], reason=row["last_reason"],
                   at=format_datetime(row["last_failure"], seconds=True)))
    if not failing:
        st.success(t("admin.notify.healthy"))
    st.subheader(t("admin.notify.channels"))
    shown = [{"name": r["name"], "kind": t(f"notify.kind.{r['kind']}"), "target": r["target"],
              "state": _channel_state(r), "last_ok": format_datetime(r["last_ok"], seconds=True),
              "last_failure": format_datetime(r["last_failure"], seconds=True),
              "last_reason": r["last_reason"],
              "sent_24h": r["sent_24h"], "failures_24h": r["failures_24h"], "pending": r["pending"],
              "failed": r["failed"]} for r in rows]
    components.table(shown, "notify_channels", labels=labels(list(shown[0]), "admin.notify.col"))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.selectbox(t("admin.notify.test_which"), [r["name"] for r in rows], key="admin_notify_channel")
    if right.button(t("admin.notify.test"), key="admin_notify_test"):
        _send_test(name)
    st.subheader(t("admin.notify.attempts"))
    attempts = [{"at": format_datetime(a["at"], seconds=True), "channel": a["channel"],
                 "message_kind": t(f"admin.notify.message_kind.{a['kind']}"), "attempt": a["attempt"],
                 "ok": bool(a["ok"]), "status_code": a["status_code"], "reason": a["reason"],
                 "elapsed_ms": a["elapsed_ms"]} for a in notify_health.recent_attempts(client)]
    components.table(attempts, "notify_attempts",
                     labels=labels(["at", "channel", "message_kind", "attempt", "ok", "status_code", "reason",
                                    "elapsed_ms"], "admin.notify.col"))


with notify_tab:
    _notifications()

with audit_tab:
    if st.button(t("admin.audit.verify"), key="admin_verify", type="primary"):
        _verify_audit()
    st.subheader(t("admin.audit.recent"))
    tail = admin.audit_tail(client)
    components.table(tail, "audit_log", labels=labels(tail.columns, "admin.col"))

def _unthrottle(name_or_address: str) -> None:
    """Forget the failed sign-ins of an account, or of an address when the text is one."""
    is_address = auth.address_key(name_or_address) != auth.UNKNOWN
    try:
        cleared = auth.unthrottle(client, username="" if is_address else name_or_address,
                                  address=name_or_address if is_address else "", actor=user.username)
        st.success(t("admin.users.unthrottled", target=cleared))
    except UserError as exc:
        components.user_error(exc)


with users_tab:
    with st.form("admin_add_user", clear_on_submit=True):
        st.markdown(f"**{t('admin.users.add')}**")
        name = st.text_input(t("signin.username"), key="admin_new_name")
        role = st.selectbox(t("admin.users.role"), vocabulary.ROLES, format_func=lambda r: t(f"role.{r}"),
                            key="admin_new_role")
        agency = st.text_input(t("admin.users.agency"), key="admin_new_agency")
        password = st.text_input(t("signin.password"), type="password", key="admin_new_password")
        if st.form_submit_button(t("admin.users.save")):
            try:
                auth.add_user(client, name.strip(), role, password, agency.strip(), actor=user.username)
                st.success(t("admin.users.saved", username=name.strip()))
            except UserError as exc:
                components.user_error(exc)
    accounts = auth.list_users(client)
    active = [row["username"] for row in accounts if not row["disabled"] and row["username"] != user.username]
    if active:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        target = left.selectbox(t("admin.users.disable_which"), active, key="admin_disable_name")
        if right.button(t("admin.users.disable"), key="admin_disable_go"):
            auth.disable_user(client, target, actor=user.username)
            st.success(t("admin.users.disabled", username=target))
            accounts = auth.list_users(client)
    disabled = [row["username"] for row in accounts if row["disabled"]]
    if disabled:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        target = left.selectbox(t("admin.users.enable_which"), disabled, key="admin_enable_name")
        if right.button(t("admin.users.enable"), key="admin_enable_go"):
            try:                        # another administrator, or the CLI, may have been first
                auth.enable_user(client, target, actor=user.username)
                st.success(t("admin.users.enabled", username=target))
            except UserError as exc:
                components.user_error(exc)
            accounts = auth.list_users(client)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    throttled = left.text_input(t("admin.users.unthrottle_which"), key="admin_unthrottle_name",
                                help=t("admin.users.unthrottle_help"))
    if right.button(t("admin.users.unthrottle"), key="admin_unthrottle_go") and throttled.strip():
        _unthrottle(throttled.strip())
    components.table([{k: row[k] for k in ("username", "role", "agency_id", "disabled", "updated_at")}
                      for row in accounts], "users",
                     labels=labels(["username", "role", "agency_id", "disabled", "updated_at"], "admin.col"))
