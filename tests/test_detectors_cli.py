"""The `odwatch detect` and `odwatch alerts …` commands on the real engine; exports read back from disk."""

from __future__ import annotations

import csv
import json
from datetime import timedelta

import pytest
from agreement_platform import MARCH, build_platform
from typer.testing import CliRunner

from detectors.cli import parse_time
from detectors.store import AlertFilters, get_alert, list_alerts
from odwatch.cli import app
from odwatch.clock import SHANGHAI, now
from odwatch.errors import UserError
from odwatch.settings import get_settings
from warehouse import audit

runner = CliRunner()
UNTIL = "2026-03-15T00:00"


@pytest.fixture
def cli_db(env_client, monkeypatch):
    """The CLI's own settings on this test's database, holding the March platform; only agreement
    detectors run."""
    monkeypatch.setenv("ODWATCH_DETECTORS", json.dumps({
        cls_id: {"enabled": False} for cls_id in _pattern_ids()}))
    get_settings.cache_clear()
    build_platform(env_client)
    return env_client


def _pattern_ids() -> list[str]:
    from detectors.malicious import MALICIOUS_DETECTORS

    return [cls.id for cls in MALICIOUS_DETECTORS]


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_detect_json_summary_then_export_jsonl_and_csv(cli_db, tmp_path):
    result = invoke("detect", "--until", UNTIL, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["alerts"] == 11 and summary["by_category"]["no_agreement"] == 2

    out = tmp_path / "alerts.jsonl"
    assert invoke("alerts", "export", "--format", "jsonl", "--out", str(out)).exit_code == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 11
    quota = next(r for r in lines if r["category"] == "quota_exceeded")
    assert quota["consumer_id"] == "C_LAWFUL" and quota["dataset_id"] == "D_COND"
    assert quota["evidence"]["daily_call_quota"] == 100 and quota["status"] == "new"
    assert quota["window_start"] == "2026-03-07T00:00:00+08:00"

    out_csv = tmp_path / "alerts.csv"
    invoke("alerts", "export", "--format", "csv", "--out", str(out_csv), "--category", "ip_outside_allowlist")
    with open(out_csv, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1
    assert json.loads(rows[0]["evidence"])["ips_outside_allowlist"] == {"203.0.113.9": 2}
    assert not list(tmp_path.glob("*.partial"))


def test_alert_commands_walk_the_lifecycle(cli_db):
    invoke("detect", "--until", UNTIL, "--json")
    alert_id = list_alerts(cli_db, AlertFilters(category="scenario_mismatch"))[0]["alert_id"]
    assert "11 shown of 11 alert(s) matching." in invoke("alerts", "list", "--status", "new").output
    listed = json.loads(invoke("alerts", "list", "--category", "scenario_mismatch", "--json").output)
    assert [row["alert_id"] for row in listed] == [alert_id]
    assert invoke("alerts", "ack", alert_id, "--actor", "alice").exit_code == 2     # no free actor names
    assert invoke("alerts", "ack", alert_id).exit_code == 0
    assert invoke("alerts", "assign", alert_id, "--to", "bob").exit_code == 0
    result = invoke("alerts", "confirm", alert_id, "--category", "4", "--measure", "restrict", "--days", "14")
    assert "as violation V" in result.output
    actors = cli_db.query("SELECT DISTINCT actor FROM audit_log WHERE object_id = {id:String}",
                          parameters={"id": alert_id}).result_rows
    assert actors == [(audit.cli_actor(),)]          # the operating-system user who ran the commands
    shown = get_alert(cli_db, alert_id)
    assert (shown["status"], shown["assignee"]) == ("confirmed", "bob")
    assert "confirm" in invoke("alerts", "show", alert_id).output
    grouped = invoke("alerts", "list", "--grouped", "--json")
    assert any(g["confirmed"] == 1 for g in json.loads(grouped.output))


def test_refused_steps_reach_the_user_as_plain_sentences(cli_db):
    invoke("detect", "--until", UNTIL, "--json")
    alert_id = list_alerts(cli_db)[0]["alert_id"]
    with pytest.raises(UserError, match="acknowledge it before you dismiss it"):
        invoke("alerts", "dismiss", alert_id, "--reason", "noise")
    with pytest.raises(UserError, match="Unknown export format"):
        invoke("alerts", "export", "--format", "xml")
    with pytest.raises(UserError, match="No alert with id zzz"):
        invoke("alerts", "show", "zzz")


def test_time_arguments():
    assert parse_time("2026-03-01").tzinfo is not None
    assert parse_time("2026-03-01T10:00") == parse_time("2026-03-01T02:00+00:00")
    assert parse_time("2026-03-01T10:00").astimezone(SHANGHAI).hour == 10
    assert abs(parse_time("6h") - (now() - timedelta(hours=6))) < timedelta(seconds=5)
    with pytest.raises(UserError, match="Cannot read the time"):
        parse_time("yesterday-ish")


def test_incremental_since_last(cli_db):
    invoke("detect", "--until", "2026-03-10T00:00", "--json")
    assert parse_time("last", cli_db).date() == MARCH[9]
    result = invoke("detect", "--since", "last", "--until", UNTIL, "--json")
    summary = json.loads(result.output)
    assert summary["full"] is False and summary["since"].startswith("2026-03-10T00:00")
