"""The background jobs of `odwatch serve` (dashboard/jobs.py): the scheduler records results and errors
without stopping, the jobs start only under serve, the heavier ones wait for the first page views, and
the real jobs run on an empty warehouse.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from dashboard import jobs
from odwatch import clock
from odwatch.clock import SHANGHAI


def _ok(settings, state):
    state["n"] = state.get("n", 0) + 1
    return f"run {state['n']}"


def _broken(settings, state):
    raise ValueError("spool folder unreadable")


def test_scheduler_records_results_and_errors_without_stopping(settings):
    scheduler = jobs.Scheduler(settings)
    scheduler.add("ok", 60, _ok)
    scheduler.add("broken", 60, _broken)
    scheduler.run_now("ok")
    status = scheduler.run_now("ok")
    assert (status.runs, status.last_result, status.last_error) == (2, "run 2", "")
    assert status.next_due > status.last_finished
    failed = scheduler.run_now("broken")
    assert failed.last_error == "ValueError: spool folder unreadable" and failed.runs == 1
    scheduler.trigger("ok")
    assert scheduler.jobs["ok"].next_due <= datetime.now(SHANGHAI)


def test_the_heavier_jobs_wait_for_the_first_page_views(settings):
    """At start-up the spool is read at once; the detectors and the evaluation wait, so the first
    visitor's pages do not share the two cores with them."""
    scheduler = jobs.build_scheduler(settings)
    built = clock.now()
    due = {name: (status.next_due - built).total_seconds() for name, status in scheduler.jobs.items()}
    assert due["spool_ingest"] < 1
    assert 25 < due["evaluation"] <= 30 and 115 < due["detectors"] <= 120


def test_jobs_start_only_under_serve(settings, monkeypatch):
    monkeypatch.delenv(jobs.SERVE_ENV, raising=False)
    assert jobs.ensure_started(settings) is None


@pytest.mark.parametrize("name", ["spool_ingest", "detectors", "evaluation"])
def test_real_jobs_run_on_an_empty_warehouse(settings, client, name):
    status = jobs.build_scheduler(settings).run_now(name)
    assert status.last_error == "" and status.runs == 1
    assert status.last_result
