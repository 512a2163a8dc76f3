"""`odwatch demo` (build the demo platform, then run what makes it useful at once) and
`odwatch detectors score` (how well the detectors find its labelled episodes).

The follow-up steps are a plain list of (label, callable); a step whose module is not
installed yet is reported as skipped, so the demo works while the project grows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from odwatch.errors import UserError
from odwatch.settings import Settings, get_settings

console = Console()
notes = Console(stderr=True)  # step labels stay off stdout, so --json prints only JSON


def _run_detectors(client: Any, settings: Settings, progress: bool) -> str:
    from detectors.runner import run_detectors

    summary = run_detectors(client, settings, progress=progress)
    alerts = getattr(summary, "alerts", None)
    return f"{alerts} alert(s)" if alerts is not None else "done"


def _scan_quality(client: Any, settings: Settings, progress: bool) -> str:
    from reports.quality import scan_catalog

    return f"run {scan_catalog(client, settings)}"


def _demo_accounts(client: Any, settings: Settings, progress: bool) -> str:
    from dashboard.auth import create_demo_accounts

    accounts = create_demo_accounts(client)
    return ", ".join(f"{user} / {password}" for user, password in accounts.items())


# (category, measure, measure days, publicize): a small triage history so the violation registry,
# the enforcement list and the public notice have something to show on a fresh demo.
SAMPLE_VERDICTS = [
    ("scraping", "restrict", 30, True),
    ("quota_exceeded", "restrict", 14, True),
    ("scenario_mismatch", "close", 90, True),
    ("no_agreement", "none", None, False),
    ("fields_outside_agreement", "restrict", 30, False),
]


def _sample_triage(client: Any, settings: Settings, progress: bool) -> str:
    """Confirm the strongest alert of a few categories as a security analyst would."""
    from detectors import triage, violations
    from detectors.messages import alert_title
    from detectors.store import AlertFilters, list_alerts

    actor = "demo-security"
    recorded = 0
    for category, measure, days, publicize in SAMPLE_VERDICTS:
        candidates = [a for a in list_alerts(client, AlertFilters(category=category, status="new", limit=200))
                      if a["consumer_id"]]
        if not candidates:
            continue
        strongest = max(candidates, key=lambda a: (a["score"], a["alert_id"]))
        triage.acknowledge(client, [strongest["alert_id"]], actor)
        violation_id = triage.confirm(
            client, [strongest["alert_id"]], actor, triage.SUGGESTED_VIOLATION_CATEGORY[category],
            measure=measure, measure_days=days, description=f"演示研判：{alert_title(strongest, 'zh')}")
        if publicize:
            violations.set_publicized(client, violation_id, True, actor)
        recorded += 1
    return f"{recorded} violation(s) recorded from confirmed alerts"


# Each step: (label, step(client, settings, progress) -> one line for the summary).
STEPS: list[tuple[str, Callable[[Any, Settings, bool], str]]] = [
    ("Detecting misuse", _run_detectors),
    ("Recording sample triage verdicts", _sample_triage),
    ("Scoring catalog quality", _scan_quality),
    ("Creating demo accounts", _demo_accounts),
]


def run_steps(client: Any, settings: Settings, progress: bool = True) -> list[tuple[str, str]]:
    """Run each follow-up step; a step whose module is missing is skipped, not fatal."""
    results = []
    for label, step in STEPS:
        notes.print(f"[bold]{label}…[/bold]")
        try:
            outcome = step(client, settings, progress)
        except ImportError as exc:
            outcome = f"skipped ({exc.name or 'module'} not available)"
        results.append((label, outcome))
    return results


def _summary_table(summary: Any, steps: list[tuple[str, str]], elapsed: float) -> Table:
    table = Table(
        title=f"Demo platform ({summary.scale}, seed {summary.seed}, until {summary.until})",
        show_header=False,
    )
    table.add_column("what")
    table.add_column("value")
    ingest = summary.ingest
    table.add_row(
        "Access-log events", f"{summary.events:,} in {summary.files} file(s) under {summary.out_dir}"
    )
    table.add_row(
        "Ingested",
        f"{ingest.get('inserted', 0):,} inserted, {ingest.get('duplicates', 0):,} duplicates, "
        f"{ingest.get('rejected', 0):,} rejected",
    )
    loaded = {name: result.get("loaded", "?") for name, result in summary.reference.items()}
    table.add_row("Reference data", ", ".join(f"{name} {count}" for name, count in loaded.items()))
    table.add_row(
        "Labelled episodes", ", ".join(f"{kind} {n}" for kind, n in summary.episodes_by_type.items())
    )
    for label, outcome in steps:
        table.add_row(label, outcome)
    table.add_row(
        "Time", f"{elapsed:.1f} s (generation {summary.generate_s:.1f} s, loading {summary.load_s:.1f} s)"
    )
    return table


def _parse_until(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--until {text!r} is not a date like 2026-11-27.") from None


def demo(
    scale: str = typer.Option("small", help="small ≈ 50k events, medium ≈ 2M, large ≈ 10M."),
    seed: int = typer.Option(7, help="Same seed and date, same platform."),
    until: str = typer.Option("", help="Last day (YYYY-MM-DD) the platform runs up to; default today."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
) -> None:
    """Generate a realistic demo platform with labelled misuse episodes, load it, detect and score."""
    from demo.platform import SCALES, build_demo
    from warehouse import connect

    if scale not in SCALES:
        raise UserError(f"Unknown scale {scale!r}; choose one of {', '.join(SCALES)}.")
    last_day = _parse_until(until)
    started = time.perf_counter()
    settings = get_settings()
    client = connect(settings)
    summary = build_demo(client, settings, scale=scale, seed=seed, until=last_day, progress=not as_json)
    steps = run_steps(client, settings, progress=not as_json)
    elapsed = time.perf_counter() - started
    if as_json:
        payload = summary.as_dict() | {"steps": dict(steps), "elapsed_s": round(elapsed, 1)}
        print(json.dumps(payload, ensure_ascii=False, default=str))
        return
    console.print(_summary_table(summary, steps, elapsed))


SCORING_DIR = typer.Option(None, "--data-dir", help="Keep (and reuse) the platform in this directory.")
HAS_TRAFFIC = "SELECT count() > 0 FROM (SELECT 1 FROM access_log LIMIT 1)"


def build_demo_if_empty(client: Any, settings: Settings) -> bool:
    """Build the small demo platform when the warehouse has no access-log rows; True when it did.

    The same steps as `odwatch demo`; each step's outcome is printed, the demo accounts'
    passwords included, once.
    """
    from demo.platform import build_demo

    if client.query(HAS_TRAFFIC).result_rows[0][0]:
        return False
    console.print("The warehouse is empty: building the demo platform first…")
    summary = build_demo(client, settings, scale="small", progress=True)
    console.print(f"Loaded {summary.events:,} access events.")
    for label, outcome in run_steps(client, settings):
        print(f"{label}: {outcome}", flush=True)
    return True


def score_detectors(
    scale: str = typer.Option("small", help="small or medium."),
    seed: int = typer.Option(7, help="Seed of the demo platform."),
    data_dir: Path = SCORING_DIR,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Build the demo platform, run every detector, print recall per episode type, alert precision and the
    benign look-alikes that raised anything; exit 1 when a target is missed."""
    from demo.scoring import PRECISION_TARGET, RECALL_TARGET, run_eval

    if scale not in ("small", "medium", "large"):
        raise UserError("The scale must be small, medium or large.")
    result = run_eval(scale, seed, data_dir=data_dir, progress=not as_json, detector_settings=get_settings())
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        table = Table(title=f"Detector evaluation on the {scale} demo platform (seed {seed})")
        for column in ("episode type", "episodes", "detected", "recall"):
            table.add_column(column, justify="left" if column == "episode type" else "right")
        for score in result.per_type:
            recall = "–" if score.recall is None else f"{score.recall:.2f}"
            style = "red" if score.recall is not None and score.recall < RECALL_TARGET else ""
            table.add_row(score.episode_type, str(score.episodes), str(score.detected), recall, style=style)
        console.print(table)
        precision = "–" if result.precision is None else f"{result.precision:.3f}"
        console.print(f"Alert precision: {precision} ({result.alert_groups - result.false_groups} of "
                      f"{result.alert_groups} alert groups by entity, category and day match an episode; "
                      f"target {PRECISION_TARGET}). Recall target {RECALL_TARGET}.")
        benign = Table(title="Benign look-alikes (target: none raises anything)")
        for column in ("look-alike", "entities", "alerts", "categories"):
            benign.add_column(column, justify="left" if column in ("look-alike", "categories") else "right")
        for kind in result.benign:
            benign.add_row(kind.kind, str(kind.entities), str(kind.alerts), ", ".join(kind.categories),
                           style="red" if kind.alerts else "")
        console.print(benign)
        console.print(f"Benign kinds alerting: {len(result.benign_alerting)} of {len(result.benign)}"
                      + (f" ({', '.join(b.kind for b in result.benign_alerting)})"
                         if result.benign_alerting else "") + ".")
        console.print(f"Timings: {result.timings}")
        for problem in result.failures():
            console.print(f"[red]Target missed: {problem}.[/red]")
    if result.failures():
        raise typer.Exit(1)




def register(app: typer.Typer, detectors_app: typer.Typer) -> None:
    """Add `odwatch demo` and `odwatch detectors score` to the main CLI."""
    app.command("demo")(demo)
    detectors_app.command("score")(score_detectors)
