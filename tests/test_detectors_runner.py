"""Detector runs: full and incremental ranges, idempotent re-runs, the run record, slices of history."""

from __future__ import annotations

import json
from datetime import timedelta

from agreement_platform import MARCH, at, build_platform, calls, insert

from detectors import triage
from detectors.agreement import agreement_detectors
from detectors.runner import last_run_until, run_detectors
from detectors.store import AlertFilters, get_alert, list_alerts

END = at(MARCH[-1] + timedelta(days=1), 0)
# The pattern detectors are tested by their own suite; these tests pin the runner's behaviour with the
# agreement detectors.


def stored(client) -> list[tuple[str, int]]:
    return client.query("SELECT alert_id, count() FROM alerts FINAL GROUP BY alert_id ORDER BY alert_id"
                        ).result_rows


def test_full_run_saves_alerts_and_records_the_run(client, settings):
    build_platform(client)
    summary = run_detectors(client, settings, until=END, detectors=agreement_detectors())
    assert summary.errors == {}
    assert summary.full and summary.since == at(MARCH[0], 0)
    assert summary.by_category == {
        "fields_outside_agreement": 1, "ip_outside_allowlist": 1, "no_agreement": 2, "outside_validity": 1,
        "quota_exceeded": 1, "report_overdue": 2, "scenario_mismatch": 1, "suspended_dataset": 2}
    assert len(stored(client)) == summary.alerts == 11
    assert summary.events == client.query("SELECT count() FROM access_log").result_rows[0][0]
    run = client.query("SELECT run_id, alerts, summary FROM detector_runs").result_rows
    assert run[0][0] == summary.run_id and run[0][1] == 11
    assert json.loads(run[0][2])["by_category"]["no_agreement"] == 2
    assert last_run_until(client) == END


def test_rerun_replaces_alerts_keeps_their_status_and_never_duplicates(client, settings):
    build_platform(client)
    run_detectors(client, settings, until=END, detectors=agreement_detectors())
    first = stored(client)
    quota = list_alerts(client, AlertFilters(category="quota_exceeded"))[0]["alert_id"]
    triage.acknowledge(client, [quota], "alice")
    run_detectors(client, settings, until=END, detectors=agreement_detectors())
    assert stored(client) == first
    assert all(count == 1 for _, count in first)
    assert get_alert(client, quota)["status"] == "acknowledged"
    assert client.query("SELECT count() FROM detector_runs").result_rows[0][0] == 2
    # The engine may keep both versions until it merges, and merges parts a few at a time (each
    # detector's alerts are an insert of their own); FINAL reads one per id.
    raw = client.query("SELECT count() FROM alerts").result_rows[0][0]
    assert len(first) <= raw <= 2 * len(first)


def test_incremental_run_reads_only_new_data_and_the_lookback(client, settings):
    build_platform(client)
    run_detectors(client, settings, until=END, detectors=agreement_detectors())
    before = {row[0] for row in stored(client)}
    new_day = MARCH[-1] + timedelta(days=1)
    insert(client, "access_log", calls(new_day, 3, consumer_id="C_LATE", dataset_id="D_COND", start_hour=8))
    since = at(new_day, 8)
    summary = run_detectors(client, settings, since=since, until=at(new_day, 9),
                            detectors=agreement_detectors())
    assert not summary.full and summary.events == 3
    assert summary.by_category["no_agreement"] == 1
    # Day detectors recompute since midnight (look-back), so nothing older than the day reappears new.
    new = {row[0] for row in stored(client)} - before
    assert [a["consumer_id"] for a in list_alerts(client) if a["alert_id"] in new] == ["C_LATE"]


def test_history_is_cut_into_slices_of_whole_days_by_events():
    from datetime import date

    from detectors.runner import slices

    first, until = at(date(2026, 3, 1), 0), at(date(2026, 3, 6), 0)
    per_day = {date(2026, 3, d): n for d, n in [(1, 400), (2, 700), (3, 100), (4, 900), (5, 50)]}
    pieces = slices(first, until, per_day, slice_events=1000)
    assert [(p.start.day, p.end.day) for p in pieces] == [(1, 2), (2, 4), (4, 6)]
    assert slices(first, until, per_day)[0].end == until            # a small log is one slice
    # An incremental run starting mid-day keeps its start.
    assert slices(at(date(2026, 3, 5), 8), until, per_day)[0].start == at(date(2026, 3, 5), 8)


def test_a_run_in_slices_finds_what_a_run_in_one_piece_finds(client, settings):
    build_platform(client)
    whole = run_detectors(client, settings, until=END, detectors=agreement_detectors())
    sliced = run_detectors(client, settings, until=END, detectors=agreement_detectors(), slice_events=5)
    assert sliced.slices > 5 and whole.slices == 1
    assert sliced.by_category == whole.by_category and sliced.alerts == whole.alerts
