"""The installed `odwatch` command's exit codes, as a cron job or a monitor sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from odwatch_processes import run_odwatch, run_python

# Eight entries and a checkpoint at the head, as `odwatch serve` would have published it.
TRAIL = """
from odwatch.settings import Settings
from warehouse import audit, connect
client = connect(Settings())
for n in range(8):
    audit.record(client, ("alice", "bob")[n % 2], ("sign_in_failed", "export")[n % 2], "report", f"r{n}")
audit.checkpoint(client)
"""

# A forger who knows the code but not the key: drops the failed sign-ins, renumbers, and chains
# the rest again, keyless (SCHEME = "sha256") or under a guessed key.
REWRITE = """
import hashlib, hmac, secrets
columns = ", ".join(audit.COLUMNS)
rows = [list(r) for r in client.query(f"SELECT {columns} FROM audit_log ORDER BY seq").result_rows]
kept, prev, forged = [r for r in rows if r[3] != "sign_in_failed"], audit.GENESIS, []
guess = secrets.token_bytes(32)
for seq, row in enumerate(kept, start=1):
    payload = audit._payload(prev, seq, row[1], *row[2:7])
    keyed = hmac.new(guess, payload, hashlib.sha256).hexdigest()
    digest = hashlib.sha256(payload).hexdigest() if SCHEME == "sha256" else keyed
    forged.append([seq, *row[1:7], prev, digest, SCHEME])
    prev = digest
client.command("TRUNCATE TABLE audit_log")
client.insert("audit_log", forged, column_names=audit.COLUMNS)
"""

TAMPERING = {
    "edited": "client.command(\"ALTER TABLE audit_log UPDATE actor = 'mallory' WHERE seq = 3 "
              "SETTINGS mutations_sync = 1\")",
    "deleted": "client.command('ALTER TABLE audit_log DELETE WHERE seq = 3 SETTINGS mutations_sync = 1')",
    "reordered": "\n".join([
        "rows = [list(r) for r in client.query('SELECT * FROM audit_log ORDER BY seq').result_rows]",
        "rows[2][0], rows[3][0] = 4, 3",
        "client.command('TRUNCATE TABLE audit_log')",
        "client.insert('audit_log', rows, column_names=audit.COLUMNS)"]),
    "last entries cut off":
        "client.command('ALTER TABLE audit_log DELETE WHERE seq > 5 SETTINGS mutations_sync = 1')",
    "rewritten keyless": "SCHEME = 'sha256'" + REWRITE,
    "rewritten with a guessed key": "SCHEME = 'hmac-sha256'" + REWRITE,
}


def python(script: str, folder: Path) -> None:
    done = run_python(folder, script)
    assert done.returncode == 0, done.stderr


def test_audit_verify_exits_0_on_an_untouched_trail(tmp_path):
    assert run_odwatch(tmp_path, "audit", "verify").returncode == 0     # an empty trail is intact
    python(TRAIL, tmp_path)
    verified = run_odwatch(tmp_path, "audit", "verify")
    assert verified.returncode == 0, verified.stdout
    assert "intact: 8 entries" in verified.stdout


@pytest.mark.parametrize("tampering", TAMPERING)
def test_audit_verify_exits_1_on_any_tampering(tmp_path, tampering):
    python(TRAIL + TAMPERING[tampering], tmp_path)
    verified = run_odwatch(tmp_path, "audit", "verify")
    assert verified.returncode == 1, verified.stdout
    assert "broken" in verified.stdout and "Traceback" not in verified.stderr


def test_a_checkpoint_printed_for_an_external_log_catches_a_cut_when_the_file_is_gone(tmp_path):
    python(TRAIL, tmp_path)
    printed = run_odwatch(tmp_path, "audit", "checkpoint")
    assert printed.returncode == 0, printed.stderr
    line = printed.stdout.strip()
    assert json.loads(line)["seq"] == 8
    (tmp_path / "data-audit" / "checkpoints.jsonl").unlink()
    python(TRAIL.split("for n")[0] + TAMPERING["last entries cut off"], tmp_path)
    verified = run_odwatch(tmp_path, "audit", "verify", "--checkpoint", line)
    assert verified.returncode == 1
    assert "entry 6: is missing, and so are the entries after it up to 8" in verified.stdout


def test_a_user_error_exits_2_with_one_sentence(tmp_path):
    result = run_odwatch(tmp_path, "ingest", str(tmp_path / "missing.jsonl"))
    assert result.returncode == 2
    assert "No such file" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_option_exits_2_with_the_usage_message(tmp_path):
    result = run_odwatch(tmp_path, "ingest", "--bogus")
    assert result.returncode == 2
    assert "No such option" in result.stderr and "odwatch failed" not in result.stderr


@pytest.mark.parametrize("args", [
    ["users", "disable", "nobody"],
    ["users", "unthrottle", "--address", "not-an-address"],
    ["alerts", "show", "zzz"],
    ["detect", "--since", "yesterday-ish"],
])
def test_a_refused_command_exits_2(tmp_path, args):
    result = run_odwatch(tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() and "Traceback" not in result.stderr
