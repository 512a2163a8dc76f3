"""The report and notification commands (reports/cli.py): `odwatch evaluate` (a draft, --publish read back
not computed again, --finalize refused in the review period), `odwatch report annual|enforcement|operation`
written and audited, bad formats refused; `odwatch notify test|run` against a real receiver, and a
configuration error (a missing secret) named at start, by `odwatch serve` too."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import openpyxl
from conftest import database_in_environment
from evaluation_year import build_two_agency_year
from notify_receivers import CHANNELS, HttpReceiver
from odwatch_processes import run_odwatch
from typer.testing import CliRunner
from violation_records import add_violation_records

from odwatch.cli import app
from odwatch.errors import UserError


def test_cli_evaluate_and_report_commands(env_client, tmp_path):
    client = env_client
    build_two_agency_year(client)
    add_violation_records(client)
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "--year", "2025", "--json"])
    assert result.exit_code == 0, result.output
    draft = json.loads(result.output)
    assert draft["state"] == "draft" and [a["agency_id"] for a in draft["agencies"]] == ["a1", "a2"]
    published = runner.invoke(app, ["evaluate", "--year", "2025", "--publish", "--json"])
    assert published.exit_code == 0, published.output
    assert json.loads(published.output)["state"] == "published"
    again = runner.invoke(app, ["evaluate", "--year", "2025", "--json"])
    assert again.output == published.output                        # read back, not computed again
    refused = runner.invoke(app, ["evaluate", "--year", "2025", "--finalize"])
    assert isinstance(refused.exception, UserError) and "复核期" in str(refused.exception)
    out = tmp_path / "annual.docx"
    result = runner.invoke(app, ["report", "annual", "--year", "2025", "--format", "docx", "--out", str(out)])
    assert result.exit_code == 0 and out.is_file()
    keys = str(tmp_path / "k.csv")
    result = runner.invoke(app, ["report", "enforcement", "--format", "csv", "--out", keys])
    assert result.exit_code == 0 and "2 restricted/closed key(s)" in result.output
    audited = client.query(
        "SELECT object_type FROM audit_log WHERE action = 'export' ORDER BY seq").result_rows
    assert [r[0] for r in audited] == ["annual_report", "enforcement_list"]
    published_entries = "SELECT count() FROM audit_log WHERE action = 'evaluation.publish'"
    assert client.query(published_entries).result_rows == [(1,)]
    result = runner.invoke(app, ["report", "annual", "--year", "2025", "--format", "odt", "--out", str(out)])
    assert isinstance(result.exception, UserError)


def test_report_operation_writes_the_months_report(tmp_path):
    with database_in_environment(f"t_opcli_{uuid.uuid4().hex[:8]}"):
        result = CliRunner().invoke(app, ["report", "operation", "--month", "2026-11", "--format", "xlsx",
                                          "--out", str(tmp_path / "op.xlsx")])
    assert result.exit_code == 0, result.output
    assert re.search(r"Wrote the 2026-11 platform operation report", result.output)
    assert openpyxl.load_workbook(tmp_path / "op.xlsx").sheetnames[0] == "说明"


def test_report_operation_refuses_a_month_to_come_in_one_sentence(tmp_path):
    from odwatch import clock

    today = clock.today()
    next_month = f"{(today.replace(day=1) + timedelta(days=32)):%Y-%m}"
    out = tmp_path / "o.pdf"
    done = run_odwatch(tmp_path, "report", "operation", "--month", next_month, "--out", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert f"{next_month} has not begun yet" in message and "Traceback" not in message
    assert not out.exists()


def test_notify_test_and_serve_name_a_missing_secret_at_start(tmp_path):
    path = tmp_path / "odwatch.toml"
    path.write_text(CHANNELS.format(url="https://hooks.example/x"), encoding="utf-8")
    for args in (["notify", "test", "duty"], ["serve", "--port", "1"]):
        done = run_odwatch(tmp_path, *args, ODWATCH_CONFIG=str(path))
        assert done.returncode == 2, done.stdout + done.stderr
        message = " ".join(done.stderr.split())
        expected = "notify.channels[1] (dd).target_env: the environment variable ODW_TEST_DD_URL is not set"
        assert expected in message
        assert "ODW_TEST_DD_SECRET is not set" in message
        assert "Traceback" not in done.stderr and "Dashboard on" not in done.stdout


def test_notify_test_sends_to_a_real_receiver_and_says_when_it_failed(tmp_path):
    receiver = HttpReceiver().start()
    try:
        path = tmp_path / "odwatch.toml"
        down = ('\n[[notify.channels]]\nname = "down"\nkind = "webhook"\n'
                f'target = "{receiver.url("broken")}"\n')
        path.write_text(CHANNELS.format(url=receiver.url("webhook")) + down, encoding="utf-8")
        env = {"ODWATCH_CONFIG": str(path), "ODW_TEST_DD_URL": receiver.url("dingtalk"),
               "ODW_TEST_DD_SECRET": "SEC-test-secret-0123456789"}
        sent = run_odwatch(tmp_path, "notify", "test", "duty", **env)
        assert sent.returncode == 0 and "Sent a test message to duty" in sent.stdout, sent.stderr
        assert receiver.bodies("webhook")[-1]["title"] == "公共数据开放监管平台测试消息"
        signed = run_odwatch(tmp_path, "notify", "test", "dd", **env)
        assert signed.returncode == 0, signed.stderr
        failed = run_odwatch(tmp_path, "notify", "test", "down", **env)
        assert failed.returncode == 1 and "HTTP 500" in failed.stderr and "Traceback" not in failed.stderr
        unknown = run_odwatch(tmp_path, "notify", "test", "pager", **env)
        assert unknown.returncode == 2 and "No notification channel named 'pager'" in unknown.stderr
        ran = run_odwatch(tmp_path, "notify", "run", **env)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "0 new alert group(s)" in ran.stdout
    finally:
        receiver.stop()
