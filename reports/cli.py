"""The `odwatch` commands of the reports package: evaluate, and the `report` exports."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import reports.cli_quality
from odwatch.errors import UserError
from warehouse import audit

console = Console()
report_app = typer.Typer(help="Export reports: annual assessment, monthly platform operation, consumer "
                              "usage report, gateway enforcement list, public violation notice.",
                         no_args_is_help=True)
notify_app = typer.Typer(help="Notifications: send what is due (for cron), or a test message to one channel.",
                         no_args_is_help=True)


def _client():
    from warehouse import connect

    return connect()


def _settings():
    from odwatch.settings import get_settings

    return get_settings()


def _audit_export(client, kind: str, out: Path, detail: dict) -> None:
    # 第二十五条: every export of supervision data is traceable to who ran it.
    audit.record_cli(client, "export", kind, str(out), detail)


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} must be a date like 2026-01-31, not '{text}'.") from None


def _ranking_table(evaluation) -> Table:
    from odwatch.i18n import chinese_date
    from reports.evaluation import LABELS
    from reports.evaluation_store import STATE_LABELS

    # Dimension columns only when the terminal is wide enough; `--json` always has them all.
    keys = list(evaluation.weights) if console.width >= 140 else []
    state = STATE_LABELS[evaluation.state]
    table = Table(title=f"{evaluation.year} 年度评估（{state}，数据截至{chinese_date(evaluation.as_of)}）")
    table.add_column("排名", justify="right")
    table.add_column("数据开放主体", no_wrap=True)
    for header in ("总分", "等级", "评估覆盖", *[LABELS[k] for k in keys], "较上年（同口径）"):
        table.add_column(header, justify="right", no_wrap=True)
    for a in evaluation.agencies:
        points = [a.dimensions[k].status_text or f"{a.dimensions[k].points:.2f}" for k in keys]
        change = "不可比" if a.change is None else f"{a.change:+.2f}"
        share = f"{a.measured_share:.0%}"
        table.add_row(str(a.rank), a.name, f"{a.total:.2f}", a.grade, share, *points, change)
    return table


def evaluate(
    year: Annotated[int, typer.Option("--year", help="The year to evaluate, e.g. 2025.")],
    publish: Annotated[bool, typer.Option("--publish", help="Store it and open the agencies' review (复核).")]
    = False,
    finalize: Annotated[bool, typer.Option("--finalize", help="Freeze the published year (定稿).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print scores and inputs as JSON.")] = False,
) -> None:
    """Evaluate every data-providing agency for a year; publish it for review or finalize it."""
    from reports import evaluation_store
    from reports.evaluation_store import evaluate_year

    if publish and finalize:
        raise UserError("Choose one of --publish and --finalize.")
    client, settings = _client(), _settings()
    actor = audit.cli_actor()
    with console.status(f"Evaluating {year}..."):
        if publish:
            evaluation = evaluation_store.publish(client, settings, year, actor)
        elif finalize:
            evaluation = evaluation_store.finalize(client, year, actor)
        else:
            evaluation = evaluate_year(client, settings, year)
    if as_json:
        text = json.dumps(evaluation.to_dict(), ensure_ascii=False, indent=2, sort_keys=True, default=str)
        typer.echo(text)
        return
    if not evaluation.agencies:
        console.print(f"No agency had open datasets by the end of {year}; nothing to evaluate.")
        return
    console.print(_ranking_table(evaluation))
    for note in evaluation.notes:
        console.print(f"[yellow]说明：{note}[/yellow]")
    if publish:
        console.print(f"Published {year} for review until {evaluation.review_until}; "
                      f"content hash {evaluation.content_hash}.")
    elif finalize:
        console.print(f"Finalized {year}; content hash {evaluation.content_hash}.")


@report_app.command("annual")
def report_annual(
    year: Annotated[int, typer.Option("--year", help="The year of the assessment.")],
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf, docx or xlsx.")] = "pdf",
) -> None:
    """Write the annual assessment report (cover, ranking, charts, per-agency pages, annexes)."""
    from reports.export.annual import write_annual_report

    client = _client()
    with console.status(f"Evaluating {year} and writing the {fmt} report..."):
        written = write_annual_report(client, _settings(), year, fmt, out)
    _audit_export(client, "annual_report", written, {"year": year, "format": fmt})
    console.print(f"Wrote the {year} annual assessment report to {written}.")


@report_app.command("operation")
def report_operation(
    month: Annotated[str, typer.Option("--month", help="The month, e.g. 2026-11.")],
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf, docx or xlsx.")] = "pdf",
) -> None:
    """Write the monthly platform-operation report (第三十七条): availability, latency, errors by
    channel, top datasets, new consumers, alerts, violations, measures, against the month before."""
    from odwatch import clock
    from reports.export.operation import report_month, write_operation_report

    report_month(month, clock.today())  # a bad or future month is refused before connecting
    client = _client()
    with console.status(f"Writing the {month} operation report as {fmt}..."):
        written = write_operation_report(client, _settings(), month, fmt, out)
    _audit_export(client, "operation_report", written, {"month": month, "format": fmt})
    console.print(f"Wrote the {month} platform operation report to {written}.")


@notify_app.command("run")
def notify_run(
    as_json: Annotated[bool, typer.Option("--json", help="Print the run's counts as JSON.")] = False,
) -> None:
    """Announce new alert groups, escalate overdue ones, queue scheduled digests and reports, and
    deliver what is due (retrying failures with back-off). Safe to run from cron every few minutes."""
    from dataclasses import asdict

    from reports.notify.health import check_channels
    from reports.notify.outbox import run_notifications

    settings = _settings()
    check_channels(settings)
    if not settings.notify.channels:
        console.print("No notification channels are configured ([[notify.channels]]); nothing to do.")
        return
    summary = run_notifications(_client(), settings)
    if as_json:
        typer.echo(json.dumps(asdict(summary), ensure_ascii=False))
    else:
        console.print(f"{summary.new_groups} new alert group(s), {summary.queued} message(s) queued, "
                      f"{summary.escalated} escalated, {summary.scheduled} scheduled; sent {summary.sent}, "
                      f"{summary.retrying} to retry, {summary.failed} given up, {summary.waiting} waiting "
                      f"(a channel's per-minute limit, or after its failure).")
        for problem in summary.problems:
            console.print(f"[red]{problem}[/red]", markup=True)
    if summary.problems or summary.failed:
        raise typer.Exit(1)


@notify_app.command("test")
def notify_test(
    channel: Annotated[str, typer.Argument(help="The channel's name, as in [[notify.channels]].")],
) -> None:
    """Send a test message to one channel now and say whether it arrived."""
    from reports.notify.health import check_channels
    from reports.notify.outbox import send_test_message

    settings = _settings()
    check_channels(settings)
    chosen = settings.notify.channel(channel)
    if chosen is None:
        names = ", ".join(c.name for c in settings.notify.channels) or "none configured"
        raise UserError(f"No notification channel named {channel!r} (channels: {names}).")
    client = _client()
    outcome = send_test_message(client, settings, chosen)
    if outcome.status == "sent":
        console.print(f"Sent a test message to {chosen.name} ({chosen.kind}).")
        return
    verb = "is waiting" if outcome.status == "waiting" else "failed"
    Console(stderr=True).print(f"The test message to {chosen.name} {verb}: {outcome.reason}", style="red",
                               markup=False)
    raise typer.Exit(1)


@report_app.command("consumer")
def report_consumer(
    consumer_id: Annotated[str, typer.Argument(help="The data consumer's id.")],
    date_from: Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")],
    date_to: Annotated[str, typer.Option("--to", help="Last day of the period (YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="docx or pdf.")] = "docx",
) -> None:
    """Write one consumer's usage report draft (第二十九条) from the logs."""
    from reports.export.consumer import write_consumer_report

    client = _client()
    first, last = _parse_day(date_from, "--from"), _parse_day(date_to, "--to")
    with console.status(f"Drafting the usage report of {consumer_id}..."):
        written = write_consumer_report(client, consumer_id, first, last, fmt, out)
    _audit_export(client, "consumer_report", written, {"consumer_id": consumer_id, "from": first, "to": last})
    console.print(f"Wrote the usage report draft of {consumer_id} to {written}.")


@report_app.command("enforcement")
def report_enforcement(
    out: Annotated[Path, typer.Option("--out", help="The file the gateway reads.")],
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
) -> None:
    """Write the gateway enforcement list of restricted and closed keys."""
    from reports.export.enforcement import enforcement_records, write_enforcement_list

    client = _client()
    written = write_enforcement_list(client, fmt, out)
    count = len(enforcement_records(client))
    _audit_export(client, "enforcement_list", written, {"format": fmt, "keys": count})
    console.print(f"Wrote {count} restricted/closed key(s) to {written}.")


@report_app.command("notice")
def report_notice(
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf, docx, csv or json.")] = "pdf",
) -> None:
    """Write the public violation notice (第三十一条 公示): publicized records only, persons masked."""
    from reports.export.notice import write_public_notice

    client = _client()
    written = write_public_notice(client, fmt, out)
    _audit_export(client, "public_notice", written, {"format": fmt})
    console.print(f"Wrote the public violation notice to {written}.")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the main CLI."""
    reports.cli_quality.register(app)
    app.command("evaluate")(evaluate)
    app.add_typer(report_app, name="report")
    app.add_typer(notify_app, name="notify")
