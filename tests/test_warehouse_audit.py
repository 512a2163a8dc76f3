"""The audit trail (warehouse/audit.py): its keyed chain and checkpoints, what verify notices (an edited,
a deleted, a cut or a rewritten entry), where the key and the checkpoints live, the entries written
before the key existed, and the CLI's entries in the operating-system user's name.

The installed command's exit codes on the same kinds of tampering: test_odwatch_cli.py.
"""

from __future__ import annotations

import hashlib
import json
import stat

import pytest
from ingest_helpers import event, line, write_lines
from pydantic import SecretStr
from typer.testing import CliRunner

from odwatch import clock
from odwatch.cli import app
from odwatch.errors import UserError
from odwatch.settings import Settings
from warehouse import audit


def write(client, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        audit.record(client, "alice", "export", "report", f"r{i}", {"n": i, "note": "已导出"})


def rows(client) -> list[list]:
    return [list(r) for r in client.query(f"SELECT {', '.join(audit.COLUMNS)} FROM audit_log ORDER BY seq")
            .result_rows]


def replace_all(client, new_rows: list[list]) -> None:
    client.command("TRUNCATE TABLE audit_log")
    client.insert("audit_log", new_rows, column_names=audit.COLUMNS)


def keyless_chain(entries: list[tuple[str, str, str, str]]) -> list[list]:
    """A chain as the version before the key wrote it (plain SHA-256), or as a forger without the key."""
    chained, prev = [], audit.GENESIS
    for seq, (actor, action, object_type, object_id) in enumerate(entries, start=1):
        at = clock.now_ms()
        payload = json.dumps([prev, seq, int(round(at.timestamp() * 1000)), actor, action, object_type,
                              object_id, "{}"], ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        chained.append([seq, at, actor, action, object_type, object_id, "{}", prev, digest, audit.KEYLESS])
        prev = digest
    return chained


def problems(client, settings, external=()) -> list[str]:
    return [p.problem for p in audit.verify(client, settings, external)[1]]


def test_audit_chain_verifies_and_detects_an_edited_row(client):
    for n in range(5):
        audit.record(client, "alice", "alert.ack", "alert", f"a{n}", {"n": n, "note": "已确认"})
    count, problems = audit.verify(client)
    assert (count, problems) == (5, [])
    client.command("ALTER TABLE audit_log UPDATE actor = 'mallory' WHERE seq = 3 "
                   "SETTINGS mutations_sync = 1")
    _, problems = audit.verify(client)
    assert [(p.seq, p.problem) for p in problems] == [(3, "was changed after it was written")]


def test_audit_chain_detects_a_deleted_row(client):
    for n in range(4):
        audit.record(client, "bob", "export", "report", f"r{n}")
    client.command("ALTER TABLE audit_log DELETE WHERE seq = 2 SETTINGS mutations_sync = 1")
    count, problems = audit.verify(client)
    assert count == 3
    assert [p.seq for p in problems] == [2]
    assert "missing" in problems[0].problem


def test_an_untouched_chain_verifies_with_its_checkpoints(client, settings):
    write(client, 5)
    assert audit.checkpoint(client, settings).seq == 5
    write(client, 2, start=5)
    assert audit.verify(client, settings) == (7, [])


def test_the_first_entry_publishes_a_checkpoint_and_later_ones_only_when_the_head_moved(client, settings):
    write(client, 3)
    points, _ = audit.read_checkpoints(settings, client.database)
    assert [p.seq for p in points] == [1]
    assert audit.checkpoint(client, settings, only_if_moved=True).seq == 3
    assert audit.checkpoint(client, settings, only_if_moved=True) is None


def test_cutting_off_the_newest_entries_is_noticed(client, settings):
    write(client, 8)
    audit.checkpoint(client, settings)
    client.command("ALTER TABLE audit_log DELETE WHERE seq > 3 SETTINGS mutations_sync = 1")
    [cut] = audit.verify(client, settings)[1]
    assert (cut.seq, cut.problem.split(":")[0]) == (4, "is missing, and so are the entries after it up to 8")


def test_a_rewrite_without_the_key_is_noticed_in_either_form(client, settings):
    write(client, 6)
    audit.checkpoint(client, settings)
    kept = [r for r in rows(client) if r[0] != 4]            # drop one entry, renumber, recompute
    forged, prev = [], audit.GENESIS
    for seq, row in enumerate(kept, start=1):
        payload = audit._payload(prev, seq, row[1], *row[2:7])
        digest = hashlib.sha256(b"guessed key" + payload).hexdigest()
        forged.append([seq, *row[1:7], prev, digest, audit.KEYED])
        prev = digest
    replace_all(client, forged)
    assert "was changed after it was written" in problems(client, settings)
    replace_all(client, keyless_chain([tuple(r[2:6]) for r in kept]))
    found = problems(client, settings)
    assert any("checkpoint" in p for p in found)


def test_a_checkpoint_line_kept_elsewhere_still_counts_when_the_file_is_gone(client, settings):
    write(client, 4)
    line = audit.checkpoint(client, settings).line()
    audit.checkpoint_path(settings).unlink()
    client.command("ALTER TABLE audit_log DELETE WHERE seq > 2 SETTINGS mutations_sync = 1")
    found = problems(client, settings, [audit.Checkpoint.parse(line)])
    assert any(p.startswith("is missing, and so are the entries after it up to 4") for p in found)
    assert any("no checkpoint of this chain" in p for p in found)


def test_a_forged_checkpoint_is_refused(client, settings):
    write(client, 2)
    genuine = audit.checkpoint(client, settings)
    forged = audit.Checkpoint(genuine.chain, 9, genuine.head, genuine.at, "0" * 64)
    assert any("bad signature" in p for p in problems(client, settings, [forged]))


def test_entries_from_before_the_key_still_verify_and_are_sealed_by_the_first_keyed_one(client, settings):
    legacy = keyless_chain([("bob", "sign_in", "user", "bob"), ("bob", "export", "report", "r1")])
    client.insert("audit_log", [r[:-1] for r in legacy], column_names=audit.COLUMNS[:-1])   # as 0003 had it
    assert client.query("SELECT groupArray(scheme) FROM audit_log").result_rows[0][0] == ["sha256"] * 2
    assert audit.verify(client, settings) == (2, [])
    write(client, 2)
    assert audit.verify(client, settings) == (4, [])
    client.command("ALTER TABLE audit_log UPDATE actor = 'mallory' WHERE seq = 1 SETTINGS mutations_sync = 1")
    assert problems(client, settings) == ["was changed after it was written"]


def test_a_keyless_entry_after_keyed_ones_is_refused(client, settings):
    write(client, 2)
    tail = rows(client)[-1]
    payload = audit._payload(tail[8], 3, tail[1], "mallory", "export", "report", "x", "{}")
    digest = hashlib.sha256(payload).hexdigest()
    forged = [3, tail[1], "mallory", "export", "report", "x", "{}", tail[8], digest, audit.KEYLESS]
    client.insert("audit_log", [forged], column_names=audit.COLUMNS)
    assert problems(client, settings) == ["has a keyless hash after keyed entries"]


def test_the_key_file_is_created_once_private_and_outside_the_data_directory(settings, tmp_path):
    own = settings.model_copy(update={"audit_key_file": tmp_path / "keys" / "audit.key"})
    created = audit.ensure_key(own)
    assert created == tmp_path / "keys" / "audit.key"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert stat.S_IMODE(created.parent.stat().st_mode) == 0o700
    assert audit.ensure_key(own) is None                  # never replaced
    inside = settings.model_copy(update={"audit_key_file": settings.data_dir / "audit.key"})
    with pytest.raises(UserError, match="inside the data directory"):
        audit.ensure_key(inside)
    assert not settings.audit_key_path.is_relative_to(settings.data_dir)
    assert not settings.audit_checkpoint_path.is_relative_to(settings.data_dir)


def test_a_key_given_in_the_settings_is_used_and_must_be_long(client, settings):
    given = settings.model_copy(update={"audit_key": SecretStr("k" * 40)})
    write(client, 2)
    assert problems(client, given).count("was changed after it was written") == 2   # not the file's key
    with pytest.raises(UserError, match="at least 32"):
        audit.verify(client, settings.model_copy(update={"audit_key": SecretStr("short")}))


def test_checkpoint_listeners_hear_every_checkpoint_and_a_failing_one_blocks_nothing(client, settings):
    heard = []

    def broken(point):
        raise RuntimeError("channel down")

    audit.on_checkpoint(broken)
    audit.on_checkpoint(heard.append)
    try:
        write(client, 1)
        point = audit.checkpoint(client, settings)
    finally:
        audit._listeners.clear()
    assert [p.seq for p in heard] == [1, 1] and heard[-1] == point


def test_cli_entries_name_the_operating_system_user_not_the_environment(client, monkeypatch):
    monkeypatch.setenv("USER", "someone_else")
    monkeypatch.setenv("LOGNAME", "someone_else")
    audit.record_cli(client, "export", "alerts", "out.csv", {"alerts": 3})
    actor = client.query("SELECT actor FROM audit_log").result_rows[0][0]
    assert actor.startswith("cli:") and actor != "cli:someone_else"


def test_defaults_put_key_and_checkpoints_beside_the_data_directory():
    settings = Settings(data_dir="var/odwatch")
    assert settings.audit_key_path.name == "audit.key"
    assert settings.audit_key_path.parent.name == "odwatch-audit"
    assert settings.audit_checkpoint_path.parent == settings.audit_key_path.parent


def test_cli_commands_that_change_or_export_data_are_audited_as_the_os_user(env_client, tmp_path):
    client = env_client
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "agencies.csv").write_text("agency_id,name\nA01,市交通委\n", encoding="utf-8")
    log = write_lines(tmp_path / "access.jsonl", [line(event(n)) for n in range(3)])
    runner = CliRunner()
    for args in (["load-reference", str(reference)], ["ingest", str(log)], ["detect", "--json"],
                 ["alerts", "export", "--format", "csv", "--out", str(tmp_path / "alerts.csv")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    entries = client.query("SELECT action, actor, object_type FROM audit_log WHERE actor LIKE 'cli:%' "
                           "ORDER BY seq").result_rows
    assert [(action, object_type) for action, _, object_type in entries] == [
        ("load_reference", "reference"), ("ingest", "access_log"), ("detect", "detector_run"),
        ("export", "alerts")]
    assert {actor for _, actor, _ in entries} == {audit.cli_actor()}


def test_a_visitor_writes_at_most_its_allowance_then_one_pause(client, settings):
    from datetime import timedelta

    def download(address: str) -> bool:
        return audit.record_within(client, f"visitor:{address}", "export", "export", "public_notice",
                                   {"format": "csv"}, per_window=3, window=timedelta(hours=1))

    assert [download("198.51.100.23") for _ in range(6)] == [True, True, True, False, False, False]
    assert download("203.0.113.7")                          # another address has its own allowance
    written = client.query("SELECT actor, action, count() FROM audit_log GROUP BY actor, action "
                           "ORDER BY actor, action").result_rows
    assert written == [("visitor:198.51.100.23", "audit_paused", 1), ("visitor:198.51.100.23", "export", 3),
                       ("visitor:203.0.113.7", "export", 1)]
    assert problems(client, settings) == []
