"""One detector run: every enabled detector over a time range, alerts saved, the run recorded.

A full run (no `since`) covers the whole access log. An incremental run covers
[since, until) and each detector reaches back by its own look-back, so a
detector that needs yesterday's baseline or the whole current day still sees it.
Alert ids are deterministic, so overlapping runs replace alerts, never add
copies, and the triage status of an alert (its events) is untouched.

History is processed in slices of whole Shanghai days holding about
`SLICE_EVENTS` events each (a small log is one slice): each detector runs on one
slice at a time, widened by its look-back, and its alerts are saved before the
next, so a run's peak memory follows the size of a slice, not of the history.
Every pattern reports per day (or hour), so slicing changes no alert; a
baseline simply reaches back from each slice. A detector that does not read the
log day by day (`Detector.sliced` is false: overdue usage reports) runs once
over the whole range.
"""

from __future__ import annotations

import json
import logging
import resource
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from detectors.base import Detector, Window
from detectors.registry import all_detectors
from detectors.store import save_alerts
from odwatch.clock import floor_to_day, now, shanghai
from odwatch.errors import UserError
from odwatch.settings import Settings

log = logging.getLogger(__name__)

FIRST_EVENT = "SELECT min(ts), count() FROM access_log"

EVENTS_IN_RANGE = """
SELECT count() FROM access_log
WHERE ts >= toDateTime({start:Int64}, 'Asia/Shanghai') AND ts < toDateTime({end:Int64}, 'Asia/Shanghai')
"""

LAST_RUN_UNTIL = "SELECT until FROM detector_runs ORDER BY started_at DESC LIMIT 1"

SLICE_EVENTS = 1_500_000

EVENTS_PER_DAY = """
SELECT toDate(ts) AS day, count() FROM access_log
WHERE ts >= toDateTime({start:Int64}, 'Asia/Shanghai') AND ts < toDateTime({end:Int64}, 'Asia/Shanghai')
GROUP BY day ORDER BY day
"""

RUN_COLUMNS = ["run_id", "started_at", "finished_at", "since", "until", "alerts", "summary"]


@dataclass
class RunSummary:
    run_id: str
    since: datetime
    until: datetime
    full: bool
    events: int = 0
    alerts: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_detector: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0
    slices: int = 1

    @property
    def events_per_s(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        data["events_per_s"] = round(self.events_per_s, 1)
        return data


def last_run_until(client: Client) -> datetime | None:
    """Where the previous run stopped: the natural `since` of the next incremental run."""
    rows = client.query(LAST_RUN_UNTIL).result_rows
    return shanghai(rows[0][0]) if rows else None


def _full_range_start(client: Client, until: datetime) -> datetime:
    first, count = client.query(FIRST_EVENT).result_rows[0]
    if not count:
        return floor_to_day(until - timedelta(days=1))
    return floor_to_day(first)


def process_cpu_seconds() -> float:
    """CPU time of this process, the embedded engine's threads included (not a remote server's)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def slices(since: datetime, until: datetime, events_per_day: dict[date, int],
           slice_events: int = SLICE_EVENTS) -> list[Window]:
    """[since, until) cut at Shanghai midnights into pieces of whole days holding at most about
    `slice_events` events each (a single day holds what it holds)."""
    pieces, start, held = [], since, 0
    day = floor_to_day(since)
    while day < until:
        following = day + timedelta(days=1)
        events = events_per_day.get(day.date(), 0)
        if held and held + events > slice_events:
            pieces.append(Window(start, day))
            start, held = day, 0
        held += events
        day = following
    pieces.append(Window(start, until))
    return pieces


def _events_per_day(client: Client, since: datetime, until: datetime) -> dict[date, int]:
    return dict(client.query(EVENTS_PER_DAY, parameters={
        "start": int(since.timestamp()), "end": int(until.timestamp())}).result_rows)


def _run_one(client: Client, detector: Detector, pieces: list[Window]) -> tuple[int, Counter]:
    """One detector over the run, slice by slice, each slice's alerts saved before the next."""
    found: dict[str, str] = {}
    if not detector.sliced:
        pieces = [Window(pieces[0].start, pieces[-1].end)]
    for piece in pieces:
        alerts = detector.run(client, piece.widened(detector.lookback))
        save_alerts(client, alerts)
        found.update((a.alert_id, a.category) for a in alerts)
    return len(found), Counter(found.values())


def run_detectors(client: Client, settings: Settings, since: datetime | None = None,
                  until: datetime | None = None, progress: bool = False,
                  detectors: list[Detector] | None = None, slice_events: int = SLICE_EVENTS) -> RunSummary:
    """Run the detectors over [since, until) (everything when since is None) and save their alerts.

    A detector that fails is reported in `errors` and the others still run.
    """
    started = now()
    clock = time.perf_counter()
    until = shanghai(until) if until else started
    full = since is None
    since = _full_range_start(client, until) if full else shanghai(since)
    if since >= until:
        raise UserError(f"Nothing to do: the start {since:%Y-%m-%d %H:%M} is not before the end "
                        f"{until:%Y-%m-%d %H:%M}.")
    detectors = all_detectors(settings) if detectors is None else detectors
    summary = RunSummary(run_id=uuid.uuid4().hex[:16], since=since, until=until, full=full)
    summary.events = int(client.query(EVENTS_IN_RANGE, parameters={
        "start": int(since.timestamp()), "end": int(until.timestamp())}).result_rows[0][0])
    pieces = slices(since, until, _events_per_day(client, since, until), slice_events)
    summary.slices = len(pieces)
    categories: Counter = Counter()
    columns = (TextColumn("{task.description:<40}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("Running detectors", total=len(detectors))
        for detector in detectors:
            bar.update(task, description=f"Running {detector.id}")
            tick, cpu = time.perf_counter(), process_cpu_seconds()
            try:
                saved, found = _run_one(client, detector, pieces)
            except Exception as exc:  # noqa: BLE001 - one broken detector must not stop the others
                # The summary carries the message to the user; the traceback only at debug level.
                log.debug("detector %s failed", detector.id, exc_info=True)
                summary.errors[detector.id] = str(exc).splitlines()[0][:300]
                saved, found = 0, Counter()
            summary.by_detector[detector.id] = {
                "alerts": saved, "seconds": round(time.perf_counter() - tick, 3),
                "cpu_seconds": round(process_cpu_seconds() - cpu, 3)}
            categories.update(found)
            bar.advance(task)
    summary.alerts = sum(categories.values())
    summary.by_category = dict(sorted(categories.items()))
    summary.elapsed_s = round(time.perf_counter() - clock, 3)
    _record_run(client, summary, started)
    return summary


def _record_run(client: Client, summary: RunSummary, started: datetime) -> None:
    detail = {k: v for k, v in summary.as_dict().items() if k not in ("run_id", "since", "until", "alerts")}
    client.insert("detector_runs", [[
        summary.run_id, started, now(), summary.since.replace(microsecond=0),
        summary.until.replace(microsecond=0), summary.alerts, json.dumps(detail, ensure_ascii=False),
    ]], column_names=RUN_COLUMNS)
