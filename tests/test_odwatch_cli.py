"""The installed `odwatch` command's exit codes, as a cron job or a monitor sees them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ODWATCH = Path(sys.executable).parent / "odwatch"

TAMPER = """
from odwatch.settings import Settings
from warehouse import audit, connect
client = connect(Settings())
audit.record(client, "alice", "export", "report", "annual-2025")
audit.record(client, "bob", "sign_in", "user", "bob")
client.command("ALTER TABLE audit_log UPDATE actor = 'mallory' WHERE seq = 1 SETTINGS mutations_sync = 1")
"""


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ODWATCH_CONFIG"} | {"ODWATCH_DATA_DIR": str(data_dir)}
    return subprocess.run(args, env=env, cwd=data_dir, capture_output=True, text=True, timeout=120)


def test_audit_verify_exits_non_zero_on_a_broken_chain(tmp_path):
    assert run([str(ODWATCH), "audit", "verify"], tmp_path).returncode == 0     # an empty trail is intact
    tampered = run([sys.executable, "-c", TAMPER], tmp_path)
    assert tampered.returncode == 0, tampered.stderr
    verified = run([str(ODWATCH), "audit", "verify"], tmp_path)
    assert verified.returncode == 1
    assert "broken" in verified.stdout and "Traceback" not in verified.stderr


def test_a_user_error_exits_2_with_one_sentence(tmp_path):
    result = run([str(ODWATCH), "ingest", str(tmp_path / "missing.jsonl")], tmp_path)
    assert result.returncode == 2
    assert "No such file" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_option_exits_2_with_the_usage_message(tmp_path):
    result = run([str(ODWATCH), "ingest", "--bogus"], tmp_path)
    assert result.returncode == 2
    assert "No such option" in result.stderr and "odwatch failed" not in result.stderr
