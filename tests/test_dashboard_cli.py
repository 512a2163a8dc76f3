"""The dashboard's commands (dashboard/cli.py): `odwatch serve` as a user runs it, its checks, then
Streamlit's own `streamlit run`, stopped with it; and `odwatch users`, which adds, lists, disables and
enables accounts, sets passwords and clears throttling, every change audited as the OS user.

Real processes on real data directories; tests/test_e2e.py drives the served dashboard in Chromium.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest
from odwatch_processes import free_port, odwatch_env, wait_healthy
from typer.testing import CliRunner

from dashboard import auth
from dashboard.auth import User
from dashboard.cli import read_password
from odwatch.cli import app
from odwatch.errors import UserError
from odwatch.settings import get_settings
from warehouse import audit
from warehouse.client import BUSY_MESSAGE

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 300          # a shared machine; the wait ends as soon as the server answers


def serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "odwatch", "serve", "--port", str(port)]


def serve_env(data_dir: Path) -> dict[str, str]:
    return odwatch_env(data_dir, ODWATCH_CLICKHOUSE_DATABASE="odwatch")


def one_line(output: str) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(output.split())


def test_serve_refuses_to_start_while_another_process_holds_the_engine(client, settings):
    """This test's process holds the data directory (the client fixture opened it)."""
    done = subprocess.run(serve_command(free_port()), cwd=ROOT, env=serve_env(settings.data_dir),
                          capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S)
    output = done.stdout + done.stderr
    assert done.returncode == 2
    assert BUSY_MESSAGE in one_line(output)
    assert "Cannot lock file" not in output and "Traceback" not in output
    assert "Dashboard on" not in output          # Streamlit was not started


@pytest.mark.parametrize("stop", ["ctrl_c", "sigterm"])
def test_serve_runs_streamlit_and_stops_it_when_stopped(tmp_path, stop):
    port = free_port()
    server = subprocess.Popen(serve_command(port), cwd=ROOT, env=serve_env(tmp_path), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(server, port, STARTUP_TIMEOUT_S, output=lambda: server.stdout.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200
        children = psutil.Process(server.pid).children(recursive=True)
        assert len(children) == 1
        dashboard = children[0]
        assert dashboard.cmdline()[1:5] == ["-m", "streamlit", "run", str(ROOT / "streamlit_app.py")]
        if stop == "ctrl_c":
            os.killpg(server.pid, signal.SIGINT)       # as a terminal does: to serve's process group
        else:
            os.kill(server.pid, signal.SIGTERM)        # as `kill PID` does: to serve alone
        output, _ = server.communicate(timeout=120)
    finally:
        if server.poll() is None:
            for child in psutil.Process(server.pid).children(recursive=True):
                child.kill()
            server.kill()
            server.wait(timeout=30)
    assert server.returncode == 0
    assert not dashboard.is_running()
    text = one_line(output)
    assert "No accounts yet" in text                       # the checks ran, on an empty warehouse
    assert text.endswith("Dashboard stopped.")
    assert "Traceback" not in output and "Interrupted" not in output


def test_serve_ends_with_streamlits_exit_status_when_it_cannot_start(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(serve_command(port), cwd=ROOT, env=serve_env(tmp_path),
                              capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S)
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert f"Port {port} is not available" in output           # Streamlit's own message
    assert "Dashboard stopped." not in output and "Traceback" not in output


# ---- `odwatch users`: accounts, passwords, throttling cleared ----------------------------------------------

PASSWORD = "correct horse battery"
ATTACKER, OFFICE = "198.51.100.23", "203.0.113.7"


def test_read_password_takes_one_line_from_a_pipe():
    assert read_password(io.StringIO("s3cret pass\nignored\n")) == "s3cret pass"
    with pytest.raises(UserError, match="No password"):
        read_password(io.StringIO(""))


def test_users_add_list_disable_through_the_cli(app_client):
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "carol", "--role", "agency", "--agency", "A01"],
                          input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "Saved account carol with role agency for agency A01" in added.output
    assert auth.authenticate(app_client, "carol", PASSWORD).user == User("carol", "agency", "A01")
    listed = runner.invoke(app, ["users", "list"])
    assert "carol" in listed.output and "active" in listed.output
    assert runner.invoke(app, ["users", "disable", "carol"]).exit_code == 0
    assert auth.get_user(app_client, "carol")["disabled"] == 1


def test_users_add_with_a_bad_role_saves_nothing(app_client):
    result = CliRunner().invoke(app, ["users", "add", "dave", "--role", "boss"], input=PASSWORD + "\n")
    assert result.exit_code != 0
    assert isinstance(result.exception, UserError)
    assert auth.get_user(app_client, "dave") is None


def users(*args: str, password: str | None = None):
    return CliRunner().invoke(app, ["users", *args], input=None if password is None else password + "\n")


def test_users_add_refuses_an_existing_name_and_enable_is_its_own_audited_command(env_client):
    client = env_client
    assert users("add", "dora", "--role", "official", password=PASSWORD).exit_code == 0
    assert users("disable", "dora").exit_code == 0
    again = users("add", "dora", "--role", "admin", password=PASSWORD + " new")
    assert again.exit_code != 0 and isinstance(again.exception, UserError)
    kept = auth.get_user(client, "dora")
    assert (kept["disabled"], kept["role"]) == (1, "official")
    assert users("enable", "dora").exit_code == 0
    assert auth.authenticate(client, "dora", PASSWORD, OFFICE).reason == "ok"
    actions = client.query("SELECT action, actor FROM audit_log WHERE object_id = 'dora' "
                           "ORDER BY seq").result_rows
    assert [a for a, _ in actions][:3] == ["user_saved", "user_disabled", "user_enabled"]
    assert {actor for action, actor in actions if action.startswith("user_")} == {audit.cli_actor()}


def test_users_password_sets_a_new_one(env_client):
    client = env_client
    auth.add_user(client, "dora", "official", PASSWORD)
    assert users("password", "dora", password="Another long phrase 9").exit_code == 0
    assert auth.authenticate(client, "dora", "Another long phrase 9", OFFICE).reason == "ok"
    assert isinstance(users("password", "nobody", password=PASSWORD).exception, UserError)


def test_unthrottle_clears_an_account_or_an_address(env_client, monkeypatch):
    client = env_client
    for knob, value in {"FREE_FAILURES": "1", "FIRST_DELAY_S": "600", "ADDRESS_FREE_FAILURES": "2"}.items():
        monkeypatch.setenv(f"ODWATCH_SIGNIN_{knob}", value)
    get_settings.cache_clear()
    auth.add_user(client, "alice", "official", PASSWORD)
    auth.authenticate(client, "alice", "guess", ATTACKER)
    assert auth.authenticate(client, "alice", PASSWORD, ATTACKER).reason == "throttled"
    assert users("unthrottle", "alice").exit_code == 0
    assert auth.authenticate(client, "alice", PASSWORD, ATTACKER).reason == "ok"
    for n in range(2):
        auth.authenticate(client, f"user{n}", "guess", ATTACKER)
    assert auth.authenticate(client, "alice", PASSWORD, ATTACKER).reason == "throttled"
    assert users("unthrottle", "--address", ATTACKER).exit_code == 0
    assert auth.authenticate(client, "alice", PASSWORD, ATTACKER).reason == "ok"
    cleared = client.query("SELECT object_type, object_id FROM audit_log "
                           "WHERE action = 'sign_in_unthrottled' ORDER BY seq").result_rows
    assert cleared == [("user", "alice"), ("address", ATTACKER)]
    assert isinstance(users("unthrottle").exception, UserError)
