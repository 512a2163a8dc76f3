"""`odwatch quality scan` (reports/cli_quality.py): files matched to datasets by name or by option, a
missing file or an ambiguous choice a sentence; a scan run from the command scores, profiles and is
audited."""

from __future__ import annotations

import pytest
from quality_files import load_catalog, write_file
from typer.testing import CliRunner

from odwatch.cli import app
from odwatch.errors import UserError
from reports.cli_quality import files_for


def test_files_map_to_datasets_by_name_or_option(tmp_path):
    write_file(tmp_path / "D1.csv")
    write_file(tmp_path / "D3.csv")
    (tmp_path / "notes.md").write_text("ignored")
    assert files_for([tmp_path], None) == {"D1": tmp_path / "D1.csv", "D3": tmp_path / "D3.csv"}
    assert files_for([tmp_path / "D1.csv"], "D2") == {"D2": tmp_path / "D1.csv"}
    with pytest.raises(UserError, match="exactly one"):
        files_for([tmp_path / "D1.csv", tmp_path / "D3.csv"], "D2")
    with pytest.raises(UserError, match="No such file"):
        files_for([tmp_path / "missing.csv"], None)


def test_cli_scan_scores_and_audits(env_client, tmp_path):
    client = env_client
    load_catalog(client)
    path = str(write_file(tmp_path / "D1.csv"))
    result = CliRunner().invoke(app, ["quality", "scan", path])
    assert result.exit_code == 0, result.output
    assert "3 dataset(s) scored, 1 file(s) profiled" in result.output
    assert client.query("SELECT count() FROM quality_checks WHERE profiled = 1").result_rows == [(1,)]
    assert client.query("SELECT action FROM audit_log").result_rows == [("quality.scan",)]
