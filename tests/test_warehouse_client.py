"""The warehouse's client (warehouse/client.py): the embedded engine lets one process at a time open a
data directory, and a second process is told so in one sentence, without a traceback."""

from __future__ import annotations

from odwatch_processes import run_odwatch


def test_a_second_process_is_told_the_engine_is_busy_in_one_sentence(client, settings, tmp_path):
    """This test's process holds the session's data directory (the client fixture opened it)."""
    result = run_odwatch(tmp_path, "audit", "verify", data_dir=settings.data_dir)
    assert result.returncode == 2
    assert "in use by another odwatch process" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
