"""Background jobs of `odwatch serve`: spool-folder ingest, the detector schedule, keeping
this year's annual evaluation computed, the audit trail's checkpoints, and notifications.

chDB lets one process own a data directory, so the jobs run as threads inside
the Streamlit server process (started once per process, by `ensure_started`), and
the Administration page reads their status from the same object. The notification job runs
in a thread of its own: a channel that hangs until its timeout must never hold up detection.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from odwatch.clock import SHANGHAI, now
from odwatch.settings import Settings
from warehouse import audit, connect

SERVE_ENV = "ODWATCH_SERVE_JOBS"          # set by `odwatch serve`; AppTest and scripts leave it unset

LAST_DETECTOR_RUN = "SELECT max(until) FROM detector_runs"


@dataclass
class JobStatus:
    name: str
    every_s: int
    runs: int = 0
    running: bool = False
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_result: str = ""
    last_error: str = ""
    next_due: datetime | None = None

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def spool_job(settings: Settings, state: dict) -> str:
    from ingest.spool import ingest_spool

    summaries = ingest_spool(connect(settings), settings)
    if summaries:
        evaluate_soon()
    inserted = sum(s.inserted for s in summaries)
    rejected = sum(s.rejected for s in summaries)
    return f"batches={len(summaries)} inserted={inserted} rejected={rejected}"


def detect_job(settings: Settings, state: dict) -> str:
    from detectors.runner import run_detectors
    from detectors.violations import lift_expired_measures

    client = connect(settings)
    # Keys whose measures (第三十一条) have ended are set back first, so a failing detector
    # cannot keep them refused at the gateway.
    lifted = lift_expired_measures(client)
    if "since" not in state:
        last = client.query(LAST_DETECTOR_RUN).result_rows
        state["since"] = last[0][0] if last and last[0][0] and last[0][0].year > 1970 else None
    until = now().replace(microsecond=0)
    summary = run_detectors(client, settings, since=state["since"], until=until)
    state["since"] = until
    alerts = getattr(summary, "alerts", None)
    result = f"alerts={alerts}" if alerts is not None else str(summary)
    notify_soon()          # new alert groups go out now, not at the notifier's next tick
    return f"{result} keys_lifted={len(lifted)}"


def notify_job(settings: Settings, state: dict) -> str:
    """Announce new alert groups, escalate, queue scheduled digests and reports, deliver with retries."""
    from reports.notify.outbox import run_notifications

    summary = run_notifications(connect(settings), settings)
    if summary.problems:
        raise RuntimeError("; ".join(summary.problems))
    return summary.line()


def evaluation_job(settings: Settings, state: dict) -> str:
    """Evaluate this year (and the last, which it is compared with) whenever the warehouse changed,
    so the evaluation page finds it ready in the cache they share (warehouse.cache): computing it
    reads every table of both years. An unchanged warehouse costs one look at the tables' parts."""
    from reports.evaluation_store import evaluate_year

    evaluation = evaluate_year(connect(settings), settings, now().year)
    return f"year={evaluation.year} agencies={len(evaluation.agencies)}"


def checkpoint_job(settings: Settings, state: dict) -> str:
    """Publish the audit trail's head outside the database when it has moved (warehouse.audit)."""
    point = audit.checkpoint(connect(settings), settings, only_if_moved=True)
    return f"checkpoint seq={point.seq}" if point else "unchanged"


@dataclass
class Scheduler:
    settings: Settings
    jobs: dict[str, JobStatus] = field(default_factory=dict)
    _work: dict[str, Callable[[Settings, dict], str]] = field(default_factory=dict)
    _state: dict[str, dict] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _own_thread: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, name: str, every_s: int, work: Callable[[Settings, dict], str],
            first_in_s: int = 0, own_thread: bool = False) -> None:
        """A job run every `every_s` seconds; with `own_thread` it runs beside the others instead of
        in turn with them (the notifier: its waits are network timeouts, not the engine's work)."""
        first = datetime.fromtimestamp(now().timestamp() + first_in_s, SHANGHAI)
        self.jobs[name] = JobStatus(name, every_s, next_due=first)
        self._work[name] = work
        self._state[name] = {}
        self._locks[name] = threading.Lock()
        if own_thread:
            self._own_thread.add(name)

    def run_now(self, name: str) -> JobStatus:
        """Run one job in the calling thread (the schedule or the admin's button); never two at once."""
        status = self.jobs[name]
        with self._locks[name]:
            status.running, status.last_started = True, now()
            try:
                status.last_result, status.last_error = self._work[name](self.settings, self._state[name]), ""
            except Exception as exc:  # noqa: BLE001 - a failing job must not kill the schedule
                status.last_error = f"{type(exc).__name__}: {exc}"
                if os.environ.get("ODWATCH_DEBUG"):
                    traceback.print_exc()
            finally:
                status.running, status.runs = False, status.runs + 1
                status.last_finished = now()
                status.next_due = datetime.fromtimestamp(status.last_finished.timestamp() + status.every_s,
                                                         SHANGHAI)
        return status

    def trigger(self, name: str) -> None:
        """Ask the schedule to run a job at its next tick, without blocking the caller."""
        self.jobs[name].next_due = now()

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            for name, status in self.jobs.items():
                if status.next_due and now() >= status.next_due and not status.running:
                    if name in self._own_thread:
                        status.running = True           # until its thread is done (run_now resets it)
                        threading.Thread(target=self.run_now, args=(name,), name=f"odwatch-{name}",
                                         daemon=True).start()
                    else:
                        self.run_now(name)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="odwatch-jobs", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def build_scheduler(settings: Settings) -> Scheduler:
    """The jobs at the intervals of `settings` (spool_every_s, detect_every_s, evaluate_every_s,
    audit_checkpoint_every_s)."""
    scheduler = Scheduler(settings)
    scheduler.add("spool_ingest", settings.spool_every_s, spool_job)
    # The first detector run and evaluation wait a little: at start-up the pages' first renders
    # come first (a visitor who opens the evaluation page sooner computes it there).
    scheduler.add("detectors", settings.detect_every_s, detect_job,
                  first_in_s=min(settings.detect_every_s, 120))
    scheduler.add("evaluation", settings.evaluate_every_s, evaluation_job,
                  first_in_s=min(settings.evaluate_every_s, 30))
    scheduler.add("audit_checkpoint", settings.audit_checkpoint_every_s, checkpoint_job)
    if settings.notify.channels:
        scheduler.add("notify", settings.notify_every_s, notify_job,
                      first_in_s=min(settings.notify_every_s, 60), own_thread=True)
        if any(channel.checkpoints for channel in settings.notify.channels):
            audit.on_checkpoint(partial(_send_checkpoint, settings))
    return scheduler


def _send_checkpoint(settings: Settings, point: audit.Checkpoint) -> None:
    from reports.notify.outbox import queue_checkpoint

    if queue_checkpoint(connect(settings), settings, point):
        notify_soon()


def serving() -> bool:
    return os.environ.get(SERVE_ENV) == "1"


_scheduler: Scheduler | None = None
_scheduler_lock = threading.Lock()


def ensure_started(settings: Settings) -> Scheduler | None:
    """Start the jobs once per process when running under `odwatch serve`; None otherwise."""
    global _scheduler
    if not serving():
        return None
    with _scheduler_lock:
        if _scheduler is None:
            _scheduler = build_scheduler(settings)
            _scheduler.start()
    return _scheduler


def current() -> Scheduler | None:
    return _scheduler


def notify_soon() -> None:
    """After a detector run, notify at the schedule's next tick (new groups go out within seconds)."""
    if _scheduler is not None and "notify" in _scheduler.jobs:
        _scheduler.trigger("notify")


def evaluate_soon() -> None:
    """After a load, evaluate at the schedule's next tick rather than within the minute: a
    reference load changes nearly every input of the evaluation."""
    if _scheduler is not None and "evaluation" in _scheduler.jobs:
        _scheduler.trigger("evaluation")
