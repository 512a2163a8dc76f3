"""`odwatch demo` (demo/cli.py): bad options refused in one sentence before anything is written, and the
steps after the platform is built: detection, sample verdicts, quality scores and one account per role."""

from __future__ import annotations

from datetime import date

import pytest
from odwatch_processes import run_odwatch

from demo.cli import SAMPLE_VERDICTS, run_steps
from demo.platform import build_demo
from detectors.violations import enforcement_list, list_violations, public_notice

UNTIL = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--scale", "huge"], "Unknown scale 'huge'"), (["--until", "27/11/2026"], "is not a date like")],
)
def test_demo_command_rejects_bad_options_in_one_sentence(tmp_path, args, message):
    done = run_odwatch(tmp_path, "demo", *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "demo").exists()


def test_demo_steps_detect_triage_score_and_create_accounts(client, settings):
    build_demo(client, settings, scale="small", seed=7, until=UNTIL)
    outcomes = dict(run_steps(client, settings, progress=False))

    assert not any(o.startswith("skipped") for o in outcomes.values()), outcomes
    assert client.command("SELECT count() FROM alerts FINAL") > 100
    assert client.command("SELECT count() FROM quality_checks") > 200
    roles = dict(client.query("SELECT role, count() FROM users FINAL GROUP BY role").result_rows)
    assert set(roles) == {"official", "security", "agency", "admin"}

    violations = list_violations(client)
    assert len(violations) == len(SAMPLE_VERDICTS)
    published = sum(1 for *_, publicize in SAMPLE_VERDICTS if publicize)
    assert len(public_notice(client)) == published
    # Keys the generator shipped as restricted are listed too; those our verdicts restricted name them.
    measured = {v["violation_id"] for v in violations if any(m["action"] != "none" for m in v["measures"])}
    assert len(measured) == sum(1 for _, measure, *_ in SAMPLE_VERDICTS if measure != "none")
    assert measured <= {row["violation_id"] for row in enforcement_list(client)}
