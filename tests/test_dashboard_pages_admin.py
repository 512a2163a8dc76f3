"""The system page (dashboard/pages/admin.py) through AppTest: refused to other roles even when run
directly; ingest batches, rejected lines, detector runs, the audit trail and accounts; an account added
and disabled, a log and a reference file uploaded, the background jobs shown and one run on request; a
failing notification channel shown and a test message sent.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from notify_receivers import HttpReceiver
from page_apps import as_user, page_app, render

from dashboard import auth, jobs
from dashboard.auth import User
from odwatch.clock import SHANGHAI
from odwatch.settings import get_settings
from warehouse import audit

PASSWORD = "correct horse battery"


def test_admin_page_refuses_other_roles_even_when_run_directly(app_client):
    at = as_user(page_app("admin"), User("o", "official")).run()
    assert [e.value for e in at.error] == ["您的账号无权访问此页面。"]
    assert not at.tabs


def _operations(client) -> None:
    started = datetime(2026, 11, 27, 9, tzinfo=SHANGHAI)
    client.insert("ingest_batches", [["B1", "logs/day1.jsonl", "abc", 0, "jsonl", "done", started, started,
                                      100, 97, 1, 2]],
                  column_names=["batch_id", "source", "source_sha256", "chunk_index", "format", "status",
                                "started_at", "finished_at", "lines_read", "inserted", "duplicates",
                                "rejected"])
    client.insert("rejected_rows", [["B1", "logs/day1.jsonl", 7, "{bad json", "invalid JSON"],
                                    ["B1", "logs/day1.jsonl", 9, '{"ts": "x"}', "bad timestamp"]],
                  column_names=["batch_id", "source", "line_no", "raw", "reason"])
    client.insert("detector_runs", [["R1", started, started, datetime(2026, 11, 26, tzinfo=SHANGHAI), started,
                                     12, json.dumps({"scraping": 12})]],
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


LOG_LINES = [
    {"event_id": "up-1", "ts": "2026-11-26T10:00:00+08:00", "consumer_id": "", "key_id": "",
     "dataset_id": "D1", "channel": "api", "endpoint": "/api/v1/datasets/D1/records", "method": "GET",
     "status": 200,
     "latency_ms": 40, "rows": 20, "bytes": 900, "fields": [], "scenario": "", "client_ip": "203.0.113.7",
     "user_agent": "curl/8", "params": {"page": 1}},
]


def test_admin_uploads_a_log_and_a_reference_file(app_client, settings, monkeypatch):
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


def test_admin_page_shows_the_background_jobs_and_runs_one_on_request(app_client, settings, monkeypatch):
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


@pytest.fixture
def receiver(app_client, tmp_path, monkeypatch):
    """A real receiver on loopback, configured in odwatch.toml as two webhook channels: "duty" on its
    /webhook endpoint, "down" on one that always fails."""
    http = HttpReceiver().start()
    config = tmp_path / "odwatch.toml"
    tables = [f'[[notify.channels]]\nname = "{name}"\nkind = "webhook"\ntarget = "{http.url(path)}"\n'
              for name, path in (("duty", "webhook"), ("down", "broken"))]
    config.write_text("".join(tables), encoding="utf-8")
    monkeypatch.setenv("ODWATCH_CONFIG", str(config))
    get_settings.cache_clear()
    yield http
    http.stop()


def test_the_system_page_shows_a_failing_channel_and_sends_a_test(app_client, receiver):
    app = render("admin", User("adam", "admin"), lang="zh", timeout=120)
    assert any("尚未配置" in i.value for i in app.info) is False
    app.selectbox(key="admin_notify_channel").set_value("down").run()
    app.button(key="admin_notify_test").click().run()
    assert any(e.value.startswith("测试消息发送失败") and "HTTP 500" in e.value for e in app.error)
    app.run()
    assert any("渠道“down”发送失败" in e.value for e in app.error)
    app.selectbox(key="admin_notify_channel").set_value("duty").run()
    app.button(key="admin_notify_test").click().run()
    assert any(s.value == "测试消息已发送到“duty”。" for s in app.success)
    assert receiver.bodies("webhook")[-1]["kind"] == "test"


def test_files_set_aside_from_the_spool_are_listed_with_their_reasons(app_client, settings):
    failed = settings.spool_dir / "failed"          # the session's data directory: removed afterwards
    failed.mkdir(parents=True, exist_ok=True)
    aside = [failed / "0001--gateway-0312.csv", failed / "0001--gateway-0312.csv.reason.txt"]
    aside[0].write_text("x", encoding="utf-8")
    aside[1].write_text("一个单元格超过了字段长度上限", encoding="utf-8")
    try:
        at = as_user(page_app("admin"), User("adam", "admin")).run()
    finally:
        for path in aside:
            path.unlink()
    assert not at.exception
    assert any("1 个文件接入失败" in w.value for w in at.warning)
    listed = "\n".join(frame.value.to_csv() for frame in at.dataframe)
    assert "gateway-0312.csv" in listed and "一个单元格超过了字段长度上限" in listed


def test_admin_enables_an_account_again_and_clears_a_throttle(app_client):
    auth.add_user(app_client, "olivia", "official", PASSWORD)
    auth.disable_user(app_client, "olivia")
    at = as_user(page_app("admin"), User("adam", "admin")).run()
    at.selectbox(key="admin_enable_name").set_value("olivia")
    at.button(key="admin_enable_go").click().run()
    assert auth.get_user(app_client, "olivia")["disabled"] == 0
    at.text_input(key="admin_unthrottle_name").input("198.51.100.23")
    at.button(key="admin_unthrottle_go").click().run()
    assert at.success[-1].value == "已清除 198.51.100.23 的登录失败记录。"
    at.text_input(key="admin_unthrottle_name").input("nobody")
    at.button(key="admin_unthrottle_go").click().run()
    assert not at.exception and any("nobody" in w.value for w in at.warning)   # a sentence, no traceback
    entries = app_client.query("SELECT actor, action, object_id FROM audit_log WHERE action IN "
                               "('user_enabled', 'sign_in_unthrottled') ORDER BY seq").result_rows
    assert entries == [("adam", "user_enabled", "olivia"), ("adam", "sign_in_unthrottled", "198.51.100.23")]
