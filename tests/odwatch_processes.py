"""odwatch in processes of its own, as a user, a cron job or a monitor runs it: the installed `odwatch`
command (or Python with odwatch's modules) on a data directory of its own, with nothing of this test
process's configuration (a config file, a server URL, the notification tests' variables) unless the
test gives it; and a served dashboard waited for until it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ODWATCH = Path(sys.executable).parent / "odwatch"
TIMEOUT_S = 300          # a shared machine; a process is waited for only until it ends


def odwatch_env(data_dir: Path, **variables: str) -> dict[str, str]:
    """The environment of a process on the data directory `data_dir`, with `variables` set."""
    kept = {name: value for name, value in os.environ.items()
            if name not in ("ODWATCH_CONFIG", "ODWATCH_CLICKHOUSE_URL") and not name.startswith("ODW_TEST_")}
    return {**kept, "ODWATCH_DATA_DIR": str(data_dir), **variables}


def run_odwatch(folder: Path, *args: str, data_dir: Path | None = None,
                **variables: str) -> subprocess.CompletedProcess:
    """`odwatch <args>` run in `folder` (no odwatch.toml there unless the test writes one), on the data
    directory `folder/data` unless another is given; the audit key and checkpoints go beside it."""
    return _run([str(ODWATCH), *args], folder, data_dir, variables)


def run_python(folder: Path, script: str, *args: str, data_dir: Path | None = None,
               **variables: str) -> subprocess.CompletedProcess:
    """A Python script run as run_odwatch runs the command."""
    return _run([sys.executable, "-c", script, *args], folder, data_dir, variables)


def _run(command: list[str], folder: Path, data_dir: Path | None,
         variables: dict[str, str]) -> subprocess.CompletedProcess:
    env = odwatch_env(folder / "data" if data_dir is None else data_dir, **variables)
    return subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True, timeout=TIMEOUT_S)


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(process: subprocess.Popen, port: int, timeout_s: float, output: Callable[[], str]) -> None:
    """Wait until the Streamlit server `process` started answers its health check on `port`; fail with
    its `output()` if it exits first or does not answer within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"odwatch serve exited with {process.returncode}:\n{output()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)      # polling a starting server; nothing is timed
    raise AssertionError(f"odwatch serve did not become healthy:\n{output()}")
