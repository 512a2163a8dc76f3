"""`odwatch serve` as a user runs it: its checks, then Streamlit's own `streamlit run`, stopped with it.

Real processes on real data directories; tests/test_e2e.py drives the served dashboard in Chromium.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from warehouse.client import BUSY_MESSAGE

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 300          # a shared machine; the wait ends as soon as the server answers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "odwatch", "serve", "--port", str(port)]


def serve_env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "ODWATCH_DATA_DIR": str(data_dir), "ODWATCH_CLICKHOUSE_DATABASE": "odwatch"}


def one_line(output: str) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(output.split())


def wait_healthy(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"odwatch serve exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)      # polling a starting server; nothing is timed
    raise AssertionError("odwatch serve did not become healthy")


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
        wait_healthy(server, port)
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
