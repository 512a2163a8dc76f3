"""Measures with a period (第三十一条) end: their keys are set back; the gateway list drops them at once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from detectors import violations
from detectors.violations import enforcement_list
from odwatch.cli import app
from odwatch.clock import now
from odwatch.settings import get_settings
from warehouse import audit

KEYS = ["K1", "K1b", "K2"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
CREATED = datetime(2024, 1, 1, tzinfo=SHANGHAI)


@pytest.fixture
def keys(client):
    """C1 holds two keys, C2 one; all active."""
    client.insert("api_keys", [["K1", "C1"], ["K1b", "C1"], ["K2", "C2"]],
                  column_names=["key_id", "consumer_id"])
    return client


def statuses(client) -> dict[str, str]:
    return dict(client.query("SELECT key_id, toString(status) FROM api_keys FINAL").result_rows)


def violation(client, consumer_id="C1", key_id="") -> str:
    return violations.record_violation(client, consumer_id=consumer_id, key_id=key_id, category=4,
                                             actor="sam", dataset_id="D1", description="off-agreement use")


def store_keys(client, *rows: tuple[str, str, str, str]) -> None:
    """Keys written earlier, created on 2024-01-01: (key_id, consumer_id, status, updated_at);
    times are midnight in Shanghai unless given."""
    client.insert("api_keys", [[key, consumer, CREATED, status, at(updated)]
                               for key, consumer, status, updated in rows],
                  column_names=["key_id", "consumer_id", "created_at", "status", "updated_at"])


def store_measures(client, *rows: tuple[str, str, str, str, str, str, str | None]) -> None:
    """Measures written earlier: (measure_id, violation_id, consumer, key, action, starts, ends)."""
    client.insert("measures", [[m, v, c, k, action, at(starts), at(ends) if ends else None, "s", ""]
                               for m, v, c, k, action, starts, ends in rows],
                  column_names=["measure_id", "violation_id", "consumer_id", "key_id", "action", "starts_at",
                                "ends_at", "decided_by", "reason"])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def lift_after(client, days: float, actor: str = "system") -> list[str]:
    """Lift as if `days` from now."""
    return violations.lift_expired_measures(client, at=now() + timedelta(days=days), actor=actor)


def test_a_seven_day_restriction_lifts_after_its_end_and_not_before(keys):
    violations.add_measure(keys, violation(keys), "restrict", "sam", days=7)
    assert statuses(keys) == {"K1": "restricted", "K1b": "restricted", "K2": "active"}
    assert lift_after(keys, 6.95) == []
    assert statuses(keys)["K1"] == "restricted"
    assert lift_after(keys, 7.05) == ["K1", "K1b"]
    assert statuses(keys) == {"K1": "active", "K1b": "active", "K2": "active"}
    # A second run finds nothing left to lift.
    assert lift_after(keys, 8) == []


def test_a_consumer_wide_close_outlives_a_key_restriction(keys):
    violations.add_measure(keys, violation(keys, key_id="K1"), "restrict", "sam", days=7)
    violations.add_measure(keys, violation(keys), "close", "sam", days=30)
    assert statuses(keys)["K1"] == "closed"
    assert lift_after(keys, 8) == []
    assert statuses(keys) == {"K1": "closed", "K1b": "closed", "K2": "active"}
    assert lift_after(keys, 31) == ["K1", "K1b"]
    assert statuses(keys)["K1"] == "active"


def test_a_short_close_inside_a_long_restriction_ends_as_restricted(keys):
    violations.add_measure(keys, violation(keys), "close", "sam", days=7)
    # A later restriction does not reopen the closed keys.
    violations.add_measure(keys, violation(keys, key_id="K1"), "restrict", "sam", days=30)
    assert statuses(keys)["K1"] == "closed"
    assert lift_after(keys, 8) == ["K1", "K1b"]
    assert statuses(keys) == {"K1": "restricted", "K1b": "restricted", "K2": "active"}
    assert lift_after(keys, 31) == ["K1", "K1b"]
    assert statuses(keys)["K1b"] == "active"


def test_an_open_ended_measure_never_lifts(keys):
    violations.add_measure(keys, violation(keys, consumer_id="C2"), "close", "sam")
    violations.add_measure(keys, violation(keys), "restrict", "sam", days=7)
    assert lift_after(keys, 3650) == ["K1", "K1b"]
    assert statuses(keys)["K2"] == "closed"
    assert [row["key_id"] for row in enforcement_list(keys, at=now() + timedelta(days=3650))] == ["K2"]


def test_the_audit_trail_records_each_lift_with_the_measures_that_ended(keys):
    first = violations.add_measure(keys, violation(keys), "restrict", "sam", days=7)
    second = violations.add_measure(keys, violation(keys, key_id="K1"), "restrict", "sam", days=10)
    lift_after(keys, 11, actor="scheduler")
    rows = keys.query("SELECT actor, object_type, object_id, detail FROM audit_log "
                      "WHERE action = 'measure.expired' ORDER BY object_id").result_rows
    assert [(actor, kind, key) for actor, kind, key, _ in rows] == [("scheduler", "api_key", "K1"),
                                                                   ("scheduler", "api_key", "K1b")]
    detail = json.loads(rows[0][3])
    assert sorted(detail["measures"]) == sorted([first, second])
    assert (detail["from"], detail["to"], detail["consumer_id"]) == ("restricted", "active", "C1")
    assert audit.verify(keys)[1] == []


def test_keys_restricted_without_a_standing_measure_of_ours_are_left_alone(keys):
    store_keys(keys, ("K_HAND", "C3", "restricted", "2026-01-01"),
               ("K_AFTER", "C4", "closed", "2026-06-01"))
    # K_AFTER's measure ended in February; the key was closed again in June, not by it.
    store_measures(keys, ("m_old", "v_old", "C4", "", "restrict", "2026-01-01", "2026-02-01"))
    assert violations.lift_expired_measures(keys) == []
    assert statuses(keys)["K_HAND"] == "restricted" and statuses(keys)["K_AFTER"] == "closed"
    listed = {row["key_id"]: row for row in enforcement_list(keys)}
    assert set(listed) == {"K_HAND", "K_AFTER"} and listed["K_AFTER"]["measure_id"] == ""


def test_a_measure_recorded_after_its_period_restricts_nothing(keys):
    violations.add_measure(keys, violation(keys), "restrict", "sam", days=7,
                                 starts_at=now() - timedelta(days=30))
    assert set(statuses(keys).values()) == {"active"}


def test_the_gateway_list_drops_an_ended_measures_keys_before_the_lifting_runs(keys):
    # Written in January by a measure that ended on 1 February; nothing has lifted them yet.
    store_keys(keys, ("K5", "C5", "restricted", "2026-01-05"),
               ("K5b", "C5", "closed", "2026-01-05"))
    store_measures(keys, ("m_key", "v1", "C5", "K5", "restrict", "2026-01-05", "2026-02-01"),
                   ("m_close", "v2", "", "K5b", "close", "2026-01-05", "2026-02-01"),
                   ("m_long", "v3", "", "K5b", "restrict", "2026-01-05", None))
    listed = {row["key_id"]: row for row in enforcement_list(keys)}
    assert set(listed) == {"K5b"}
    # The close ended, the open-ended restriction stands: the gateway restricts, no longer refuses.
    assert listed["K5b"]["status"] == "restricted" and listed["K5b"]["measure_id"] == "m_long"
    assert statuses(keys)["K5"] == "restricted"                # stored status not yet lifted
    # A measure written now is listed now and gone once its period is over.
    violations.add_measure(keys, violation(keys, consumer_id="C2"), "close", "sam", days=7)
    assert "K2" in {row["key_id"] for row in enforcement_list(keys)}
    assert "K2" not in {row["key_id"] for row in enforcement_list(keys, at=now() + timedelta(days=8))}


def test_the_serve_detector_job_lifts_before_it_detects(keys, settings):
    from dashboard.jobs import detect_job

    store_keys(keys, ("K5", "C5", "restricted", "2026-01-05"),
               ("K5b", "C5", "restricted", "2026-01-05"))
    store_measures(keys, ("m1", "v1", "C5", "", "restrict", "2026-01-05", "2026-01-12"))
    result = detect_job(settings, {})
    assert result.startswith("alerts=") and result.endswith("keys_lifted=2")
    assert set(statuses(keys).values()) == {"active"} and len(statuses(keys)) == 5


def test_odwatch_detect_reports_the_keys_it_restored(keys, settings, monkeypatch):
    monkeypatch.setenv("ODWATCH_CLICKHOUSE_DATABASE", settings.clickhouse_database)
    get_settings.cache_clear()
    store_keys(keys, ("K6", "C6", "closed", "2026-01-05"))
    store_measures(keys, ("m2", "v2", "C6", "", "close", "2026-01-05", "2026-02-01"))
    try:
        result = CliRunner().invoke(app, ["detect"])
        assert result.exit_code == 0, result.output
        assert "1 API key(s) restored" in result.output and "(K6)" in result.output
        assert statuses(keys)["K6"] == "active"
        again = CliRunner().invoke(app, ["detect", "--json"])
        assert json.loads(again.output)["keys_lifted"] == []
    finally:
        get_settings.cache_clear()
