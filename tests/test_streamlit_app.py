"""The dashboard shell through Streamlit's AppTest, on the real embedded engine.

The app reads its settings from the environment, so each test points
ODWATCH_CLICKHOUSE_DATABASE at its own database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from page_apps import page_app
from streamlit.testing.v1 import AppTest

from dashboard import auth, navigation
from dashboard.auth import User
from dashboard.session import USER_KEY
from dashboard.signin import PASSWORD_KEY, SUBMIT_KEY, USERNAME_KEY
from odwatch import clock, vocabulary
from odwatch.i18n import catalog
from odwatch.settings import get_settings
from warehouse import audit

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
PASSWORD = "correct horse battery"
SH = ZoneInfo("Asia/Shanghai")
EXPECTED_PAGES = {
    None: ["public_notice"],
    "official": ["overview", "usage", "quality", "evaluation", "violations", "applications", "complaints",
                 "public_notice"],
    "security": ["overview", "usage", "triage", "violations", "applications", "complaints", "public_notice"],
    "agency": ["overview", "usage", "quality", "evaluation", "violations", "applications", "complaints",
               "public_notice"],
    "admin": ["overview", "usage", "quality", "evaluation", "triage", "violations", "applications",
              "complaints", "admin", "public_notice"],
}


@pytest.fixture
def app_client(settings, client, monkeypatch):
    """Point the app (which reads settings from the environment) at this test's database."""
    monkeypatch.setenv("ODWATCH_CLICKHOUSE_DATABASE", settings.clickhouse_database)
    get_settings.cache_clear()
    client.insert("agencies", [["A01", "市交通委", "Transport Commission", "city_bureau"],
                               ["A02", "市卫健委", "Health Commission", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    client.insert("datasets", [["D1", "A01", "公交线路", "交通"], ["D2", "A02", "医院名录", "卫生"]],
                  column_names=["dataset_id", "agency_id", "name", "domain"])
    yield client
    get_settings.cache_clear()


def new_app(path: str = APP) -> AppTest:
    return AppTest.from_file(path, default_timeout=90)


def as_user(at: AppTest, user: User, client=None) -> AppTest:
    """Act as a signed-in user; through streamlit_app.py the account must exist, so pass the client."""
    if client is not None:
        auth.add_user(client, user.username, user.role, PASSWORD, user.agency_id)
    at.session_state[USER_KEY] = user
    return at


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key=USERNAME_KEY).input(username)
    at.text_input(key=PASSWORD_KEY).input(password)
    at.button(key=SUBMIT_KEY).click()
    return at.run()


def test_the_sign_in_form_hides_the_password_and_offers_saved_accounts(app_client):
    at = new_app().run()
    username, password = at.text_input(key=USERNAME_KEY), at.text_input(key=PASSWORD_KEY)
    assert username.label == "用户名" and password.label == "密码"
    assert password.proto.type == password.proto.PASSWORD
    # What password managers look for to fill in a saved account rather than suggest a new one.
    assert (username.proto.autocomplete, password.proto.autocomplete) == ("username", "current-password")
    assert at.button(key=SUBMIT_KEY).proto.is_form_submitter


def test_wrong_password_is_refused(app_client):
    auth.add_user(app_client, "alice", "official", PASSWORD)
    at = sign_in(new_app().run(), "alice", "not the password")
    assert not at.exception
    assert USER_KEY not in at.session_state
    assert [e.value for e in at.error] == ["用户名或密码错误。"]


def test_right_password_signs_in_and_is_audited(app_client):
    auth.add_user(app_client, "alice", "official", PASSWORD)
    at = sign_in(new_app().run(), "alice", PASSWORD)
    assert at.session_state[USER_KEY] == User("alice", "official", "")
    actions = app_client.query("SELECT action FROM audit_log WHERE actor = 'alice' ORDER BY seq").result_rows
    assert ("sign_in",) in actions


def test_repeated_failures_slow_the_next_attempt_even_after_a_reload(app_client, monkeypatch):
    monkeypatch.setenv("ODWATCH_SIGNIN_FREE_FAILURES", "2")
    monkeypatch.setenv("ODWATCH_SIGNIN_FIRST_DELAY_S", "600")
    get_settings.cache_clear()
    auth.add_user(app_client, "alice", "official", PASSWORD)
    at = new_app().run()
    for _ in range(2):
        at = sign_in(at, "alice", "wrong password")
    at = sign_in(at, "alice", PASSWORD)          # right password, but it must wait now
    assert USER_KEY not in at.session_state
    assert at.error[0].value.startswith("登录失败次数过多，请在 10 分钟后")
    reloaded = sign_in(new_app().run(), "alice", PASSWORD)   # a new session: the count is stored
    assert USER_KEY not in reloaded.session_state
    assert "登录失败次数过多" in reloaded.error[0].value


def test_language_switch_changes_labels(app_client):
    at = new_app().run()
    assert at.title[0].value == "登录"
    assert at.text_input(key=USERNAME_KEY).label == "用户名"
    assert at.button(key="lang_zh").proto.type == "primary"
    at.button(key="lang_en").click().run()
    assert at.title[0].value == "Sign in"
    assert at.text_input(key=USERNAME_KEY).label == "Username"
    assert at.button(key="lang_en").proto.type == "primary"
    at.button(key="lang_zh").click().run()
    assert at.title[0].value == "登录"


def test_a_failed_sign_in_is_told_in_the_sessions_language(app_client):
    auth.add_user(app_client, "alice", "official", PASSWORD)
    at = new_app().run()
    at.button(key="lang_en").click().run()
    at = sign_in(at, "alice", "wrong password")   # the sign-in callback runs before the shell's script
    assert at.error[0].value == "Wrong username or password."


def client_script():
    import streamlit as st

    from dashboard.session import get_client

    st.text(str(id(get_client())))


def test_a_session_keeps_one_client_across_its_runs(app_client):
    session = AppTest.from_function(client_script, default_timeout=60).run()
    kept = session.text[0].value
    assert session.run().text[0].value == kept        # each run is on a new thread
    other = AppTest.from_function(client_script, default_timeout=60).run()
    assert other.text[0].value != kept


# The app in a process of its own (chDB: one data directory per process), printing what it shows.
SHOWN_IN_ANOTHER_PROCESS = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=90).run()
print(json.dumps({"errors": [e.value for e in at.error], "exceptions": len(at.exception),
                  "titles": [t.value for t in at.title]}))
"""


def test_a_session_opened_while_another_process_holds_the_engine_is_told_so_plainly(client, settings):
    """This test's process holds the data directory (the client fixture opened it)."""
    env = {**os.environ, "ODWATCH_DATA_DIR": str(settings.data_dir),
           "ODWATCH_CLICKHOUSE_DATABASE": settings.clickhouse_database}
    done = subprocess.run([sys.executable, "-c", SHOWN_IN_ANOTHER_PROCESS, APP], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=True)
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown == {"errors": [catalog("zh")["shell.engine_busy"]], "exceptions": 0, "titles": []}


@pytest.mark.parametrize("role", [None, *vocabulary.ROLES])
def test_each_role_is_given_exactly_its_pages(role):
    existing = {spec.key for spec in navigation.PAGES if spec.exists()}
    assert navigation.page_keys_for(role) == [k for k in EXPECTED_PAGES[role] if k in existing]


def test_every_registered_page_file_exists():
    assert [spec.key for spec in navigation.PAGES if not spec.exists()] == []


@pytest.mark.parametrize("role", vocabulary.ROLES)
def test_forbidden_pages_are_not_registered_for_the_session(app_client, role):
    at = as_user(new_app(), User("uma", role, "A01" if role == "agency" else ""), app_client).run()
    for spec in navigation.PAGES:
        page = f"dashboard/pages/{spec.key}.py"
        if spec.key in EXPECTED_PAGES[role]:
            if spec.exists():
                at.switch_page(page)
        else:
            with pytest.raises(ValueError):
                at.switch_page(page)


def test_visitor_reaches_only_sign_in_and_public_notice(app_client):
    at = new_app().run()
    at.switch_page("dashboard/pages/public_notice.py").run()
    assert not at.exception
    assert at.title[0].value == "违规行为公示"
    with pytest.raises(ValueError):
        at.switch_page("dashboard/pages/overview.py")


def test_admin_page_refuses_other_roles_even_when_run_directly(app_client):
    at = as_user(page_app("admin"), User("o", "official")).run()
    assert [e.value for e in at.error] == ["您的账号无权访问此页面。"]
    assert not at.tabs


def filters_script():
    import streamlit as st

    from dashboard.session import ALL_FILTERS, filter_sidebar

    filters = filter_sidebar(show=st.session_state.get("show", ALL_FILTERS))
    st.text(f"agency={filters.agency_id} channel={filters.channel} dataset={filters.dataset_id}")


def test_agency_user_filters_are_scoped_whatever_the_state_says(app_client):
    at = AppTest.from_function(filters_script, default_timeout=60)
    at.session_state[USER_KEY] = User("alice", "agency", "A01")
    at.session_state["odwatch_filters"] = {"agency": "A02", "dataset": "D2"}   # a forged choice
    at.run()
    assert not at.exception
    assert at.text[0].value == "agency=A01 channel=None dataset=None"
    agency_box = at.selectbox(key="flt_agency")
    assert agency_box.disabled and agency_box.options == ["全部", "市交通委"]
    assert at.selectbox(key="flt_dataset").options == ["全部", "公交线路"]


def test_filters_persist_across_pages_that_show_fewer_filters(app_client):
    at = AppTest.from_function(filters_script, default_timeout=60)
    at.session_state[USER_KEY] = User("olivia", "official")
    at.run()
    # Every filter starts on its "all" option (index 0), not on an empty placeholder.
    assert [box.index for box in at.sidebar.selectbox] == [0, 0, 0]
    assert [radio.index for radio in at.sidebar.radio] == [0, 0]
    at.radio(key="flt_channel").set_value("api").run()
    at.selectbox(key="flt_agency").set_value("A02").run()
    assert at.text[0].value == "agency=A02 channel=api dataset=None"
    at.session_state["show"] = ("dates",)                  # a page with only the date filter
    at.run()
    assert not at.selectbox and not at.radio
    assert at.text[0].value == "agency=A02 channel=api dataset=None"
    at.session_state["show"] = ("agency", "channel")       # back on a page that shows them
    at.run()
    assert at.radio(key="flt_channel").value == "api"
    assert at.selectbox(key="flt_agency").value == "A02"


def test_the_dataset_list_opens_once_an_agency_or_a_domain_narrows_it(app_client):
    at = AppTest.from_function(filters_script, default_timeout=60)
    at.session_state[USER_KEY] = User("olivia", "official")
    at.run()
    datasets = at.selectbox(key="flt_dataset")
    assert datasets.disabled and datasets.options == ["全部"]
    at.selectbox(key="flt_domain").set_value("卫生").run()
    assert at.selectbox(key="flt_dataset").options == ["全部", "医院名录"]
    at.selectbox(key="flt_dataset").set_value("D2").run()
    assert at.text[0].value == "agency=None channel=None dataset=D2"
    at.selectbox(key="flt_domain").set_value("").run()      # widening again drops the dataset
    assert at.selectbox(key="flt_dataset").disabled
    assert at.text[0].value == "agency=None channel=None dataset=None"
    at.selectbox(key="flt_agency").set_value("A01").run()
    assert at.selectbox(key="flt_dataset").options == ["全部", "公交线路"]


def _publicized_violation(client) -> None:
    client.insert("consumers", [["C1", "上海某某数据科技有限公司", "company", "91310000MA1FL4XQ3X"],
                                ["C2", "张三丰", "person", ""]],
                  column_names=["consumer_id", "name", "kind", "credit_code"])
    at = datetime(2026, 11, 2, 10, tzinfo=SH)
    client.insert("violations", [
        ["V1", "C1", "K1", "D1", "A01", 2, "scraping 10.1.2.3", ["al1"], at, "sam", "high", 1],
        ["V2", "C2", "K2", "D2", "A02", 4, "scenario", ["al2"], at, "sam", "medium", 1],
        ["V3", "C2", "K2", "D2", "A02", 1, "not public", ["al3"], at, "sam", "low", 0],
    ], column_names=["violation_id", "consumer_id", "key_id", "dataset_id", "agency_id", "category",
                     "description", "alert_ids", "recorded_at", "recorded_by", "severity", "publicized"])
    client.insert("measures", [["M1", "V1", "C1", "K1", "restrict", at, datetime(2026, 12, 2, tzinfo=SH),
                                "sam", "scraping"]],
                  column_names=["measure_id", "violation_id", "consumer_id", "key_id", "action", "starts_at",
                                "ends_at", "decided_by", "reason"])


def test_public_notice_page_shows_only_publicized_records_without_sign_in(app_client):
    _publicized_violation(app_client)
    at = page_app("public_notice").run()
    assert not at.exception
    assert at.metric[0].value == "2"
    shown = at.dataframe[0].value
    subjects = set(shown["主体"])
    assert "上海某某数据科技有限公司" in subjects and "张三丰" not in subjects
    assert "91310000MA1FL4XQ3X" in set(shown["统一社会信用代码"])
    assert "10.1.2.3" not in shown.to_csv()
    assert set(shown["处理措施"]) == {"限制数据获取权限", "记录在案"}
    english = page_app("public_notice")
    english.session_state["lang"] = "en"
    english.run()
    assert not english.exception
    frame = english.dataframe[0].value
    assert set(frame["Measure"]) == {"Access restricted", "Recorded"}
    assert "(二) Obtaining public data by unlawful means" in set(frame["Violation"])
    assert "2026-11-02" in set(frame["Recorded on"])


def _operations(client) -> None:
    started = datetime(2026, 11, 27, 9, tzinfo=SH)
    client.insert("ingest_batches", [["B1", "logs/day1.jsonl", "abc", 0, "jsonl", "done", started, started,
                                      100, 97, 1, 2]],
                  column_names=["batch_id", "source", "source_sha256", "chunk_index", "format", "status",
                                "started_at", "finished_at", "lines_read", "inserted", "duplicates",
                                "rejected"])
    client.insert("rejected_rows", [["B1", "logs/day1.jsonl", 7, "{bad json", "invalid JSON"],
                                    ["B1", "logs/day1.jsonl", 9, '{"ts": "x"}', "bad timestamp"]],
                  column_names=["batch_id", "source", "line_no", "raw", "reason"])
    client.insert("detector_runs", [["R1", started, started, datetime(2026, 11, 26, tzinfo=SH), started, 12,
                                     json.dumps({"scraping": 12})]],
                  column_names=["run_id", "started_at", "finished_at", "since", "until", "alerts", "summary"])
    audit.record(client, "adam", "sign_in", "user", "adam")


def test_admin_page_renders_ingest_rejects_runs_audit_and_accounts(app_client):
    _operations(app_client)
    auth.add_user(app_client, "adam", "admin", PASSWORD)
    at = as_user(page_app("admin"), User("adam", "admin")).run()
    assert not at.exception
    assert len(at.tabs) == 6             # ingest, upload, jobs, notification channels, audit, accounts
    text = "\n".join(frame.value.to_csv() for frame in at.dataframe)
    assert "invalid JSON" in text and "bad timestamp" in text      # reasons and rejected rows
    assert "logs/day1.jsonl" in text and "R1" in text and "adam" in text
    at.button(key="admin_verify").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("审计日志完整")


def test_admin_adds_and_disables_an_account_through_the_page(app_client):
    at = as_user(page_app("admin"), User("adam", "admin")).run()
    at.text_input(key="admin_new_name").input("olivia")
    at.selectbox(key="admin_new_role").set_value("official")
    at.text_input(key="admin_new_password").input(PASSWORD)
    next(b for b in at.button if b.label == "保存账号").click().run()
    assert not at.exception
    assert auth.get_user(app_client, "olivia")["role"] == "official"
    at.selectbox(key="admin_disable_name").set_value("olivia")
    at.button(key="admin_disable_go").click().run()
    assert auth.get_user(app_client, "olivia")["disabled"] == 1
    assert auth.authenticate(app_client, "olivia", PASSWORD).reason == "disabled"


def test_dates_default_to_the_last_thirty_days(app_client):
    at = AppTest.from_function(filters_script, default_timeout=60)
    at.session_state[USER_KEY] = User("olivia", "official")
    at.run()
    start, end = at.date_input(key="flt_dates").value
    assert (end - start).days == 29 and end >= date(2026, 11, 27)


LOG_LINES = [
    {"event_id": "up-1", "ts": "2026-11-26T10:00:00+08:00", "consumer_id": "", "key_id": "",
     "dataset_id": "D1", "channel": "api", "endpoint": "/api/v1/datasets/D1/records", "method": "GET",
     "status": 200,
     "latency_ms": 40, "rows": 20, "bytes": 900, "fields": [], "scenario": "", "client_ip": "203.0.113.7",
     "user_agent": "curl/8", "params": {"page": 1}},
]


def test_admin_uploads_a_log_and_a_reference_file(app_client, settings, monkeypatch):
    from dashboard import jobs

    scheduler = jobs.build_scheduler(settings)          # not started: only its due times are read
    scheduler.run_now("evaluation")
    monkeypatch.setattr(jobs, "_scheduler", scheduler)
    good = json.dumps(LOG_LINES[0], ensure_ascii=False)
    log = f"{good}\n{{this is not json\n".encode()
    agencies = json.dumps({"agency_id": "A03", "name": "市民政局", "name_en": "Civil Affairs",
                           "kind": "city_bureau"}, ensure_ascii=False).encode() + b"\n"
    at = as_user(page_app("admin"), User("adam", "admin")).run()
    uploader = next(iter(at.get("file_uploader")))
    uploader.upload("gateway.jsonl", log, "application/json").run()
    at.button(key="admin_upload_go").click().run()
    assert not at.exception
    assert app_client.query("SELECT event_id FROM access_log").result_rows == [("up-1",)]
    assert app_client.query("SELECT count() FROM rejected_rows").result_rows[0][0] == 1
    assert any("访问日志已接入" in s.value for s in at.success)
    uploader = next(iter(at.get("file_uploader")))
    uploader.upload("agencies.jsonl", agencies, "application/json").run()
    at.button(key="admin_upload_go").click().run()
    assert not at.exception
    assert ("市民政局",) in app_client.query("SELECT name FROM agencies FINAL").result_rows
    uploads = app_client.query("SELECT object_id FROM audit_log WHERE action = 'upload' ORDER BY seq")
    assert uploads.result_rows == [("gateway.jsonl",), ("agencies.jsonl",)]
    evaluation = scheduler.jobs["evaluation"]               # the loads made the evaluation due at once
    assert evaluation.next_due < evaluation.last_finished + timedelta(seconds=settings.evaluate_every_s)


def test_the_heavier_jobs_wait_for_the_first_page_views(settings):
    """At start-up the spool is read at once; the detectors and the evaluation wait, so the first
    visitor's pages do not share the two cores with them."""
    from dashboard import jobs

    scheduler = jobs.build_scheduler(settings)
    built = clock.now()
    due = {name: (status.next_due - built).total_seconds() for name, status in scheduler.jobs.items()}
    assert due["spool_ingest"] < 1
    assert 25 < due["evaluation"] <= 30 and 115 < due["detectors"] <= 120


def test_sign_out_is_audited_and_returns_to_sign_in(app_client):
    at = as_user(new_app(), User("olivia", "official"), app_client).run()
    at.button(key="sign_out").click().run()
    assert USER_KEY not in at.session_state
    assert at.title[0].value == "登录"
    signed_out = app_client.query("SELECT actor FROM audit_log WHERE action = 'sign_out'").result_rows
    assert signed_out == [("olivia",)]


def test_disabling_an_account_ends_its_open_session(app_client):
    at = as_user(new_app(), User("olivia", "official"), app_client).run()
    assert at.session_state[USER_KEY] == User("olivia", "official", "")
    auth.disable_user(app_client, "olivia", actor="adam")
    at.run()
    assert USER_KEY not in at.session_state
    assert at.title[0].value == "登录"


def test_admin_page_shows_the_background_jobs_and_runs_one_on_request(app_client, settings, monkeypatch):
    from dashboard import jobs

    scheduler = jobs.build_scheduler(settings)          # not started: the page only reads and triggers
    scheduler.run_now("spool_ingest")
    monkeypatch.setattr(jobs, "_scheduler", scheduler)
    at = as_user(page_app("admin"), User("adam", "admin")).run()
    assert not at.exception
    runs = [m.value for m in at.metric if m.label == "已运行次数"]
    assert runs == ["1", "0", "0", "0"]                  # spool ran once, the others not yet
    assert any(c.value.startswith("上次结果：batches=0") for c in at.caption)
    before = scheduler.jobs["detectors"].next_due
    at.button(key="admin_run_detectors").click().run()
    assert scheduler.jobs["detectors"].next_due < before
    triggered = app_client.query("SELECT object_id FROM audit_log WHERE action = 'job_triggered'")
    assert triggered.result_rows == [("detectors",)]
