"""The `odwatch` commands of the detectors package: detect, alerts …, detectors list."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from odwatch.clock import SHANGHAI, now, shanghai
from odwatch.errors import UserError
from warehouse import audit

console = Console()
alerts_app = typer.Typer(help="Review and triage alerts: list, show, ack, assign, dismiss, confirm, export.",
                         no_args_is_help=True)

detectors_app = typer.Typer(help="The detectors: their parameters, and how well they score.",
                             no_args_is_help=True)

_RELATIVE = re.compile(r"^(\d+)([mhd])$")


def parse_time(text: str, client=None) -> datetime:
    """A date, a date-time (Shanghai time unless an offset is given), '6h'/'2d' ago, or 'last'."""
    text = text.strip()
    if text == "last":
        from detectors.runner import last_run_until

        found = last_run_until(client) if client is not None else None
        if found is None:
            raise UserError("There is no previous detector run to continue from; run `odwatch detect` first.")
        return found
    relative = _RELATIVE.match(text)
    if relative:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[relative.group(2)]
        return now() - timedelta(**{unit: int(relative.group(1))})
    try:
        return shanghai(datetime.fromisoformat(text))
    except ValueError:
        raise UserError(f"Cannot read the time '{text}'. Use 2026-11-27, 2026-11-27T10:00, 6h, 2d or last.") \
            from None


def _client():
    from warehouse import connect

    return connect()


def _json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def detect(
    since: str = typer.Option(None, help="Only new data from this time (plus each detector's look-back): "
                                         "a date, date-time, 6h, 2d, or 'last' (the previous run's end)."),
    until: str = typer.Option(None, help="End of the range (default: now)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
) -> None:
    """Run every enabled detector and save the alerts (re-runs never duplicate)."""
    from detectors.runner import run_detectors
    from detectors.violations import lift_expired_measures
    from odwatch.settings import get_settings

    client = _client()
    start = parse_time(since, client) if since else None
    end = parse_time(until, client) if until else None
    # Measures whose period has ended give their keys back before the detectors run (第三十一条).
    lifted = lift_expired_measures(client)
    summary = run_detectors(client, get_settings(), since=start, until=end, progress=not as_json)
    audit.record_cli(client, "detect", "detector_run", summary.run_id,
                     {"alerts": summary.alerts, "keys_lifted": lifted})
    if as_json:
        _json({**summary.as_dict(), "keys_lifted": lifted})
    else:
        console.print(f"{len(lifted)} API key(s) restored: the restricting or closing measures behind them "
                      "ended" + (f" ({', '.join(lifted)})." if lifted else "."))
        table = Table(title=f"Detector run {summary.run_id}: {summary.since:%Y-%m-%d %H:%M} – "
                            f"{summary.until:%Y-%m-%d %H:%M} ({'full' if summary.full else 'incremental'})")
        table.add_column("category")
        table.add_column("alerts", justify="right")
        for category, count in summary.by_category.items():
            table.add_row(category, str(count))
        table.add_row("[bold]total[/bold]", f"[bold]{summary.alerts}[/bold]")
        console.print(table)
        console.print(f"{summary.events:,} events in range, {summary.elapsed_s:.1f} s "
                      f"({summary.events_per_s:,.0f} events/s).")
        for detector_id, message in summary.errors.items():
            console.print(f"[red]{detector_id} failed: {message}[/red]")
    if summary.errors:
        raise typer.Exit(1)


def _filters(category, severity, status, dataset, consumer, entity, assignee, agency, date_from, date_to,
             limit=500, family=None):
    from detectors.store import AlertFilters

    def day(text: str | None) -> date | None:
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise UserError(f"Cannot read the date '{text}'. Use YYYY-MM-DD.") from None

    filters = AlertFilters(category=category, family=family, severity=severity, status=status,
                           dataset_id=dataset, consumer_id=consumer, entity=entity, assignee=assignee,
                           agency_id=agency, date_from=day(date_from), date_to=day(date_to), limit=limit)
    filters.validate()
    return filters


CATEGORY = typer.Option(None, help="Alert category, e.g. scraping or quota_exceeded.")
SEVERITY = typer.Option(None, help="low, medium, high or critical.")
STATUS = typer.Option(None, help="new, acknowledged, confirmed or dismissed.")
DATASET = typer.Option(None, "--dataset", help="Dataset id.")
CONSUMER = typer.Option(None, "--consumer", help="Consumer id.")
ENTITY = typer.Option(None, "--entity", help="A consumer id, API key or client IP.")
ASSIGNEE = typer.Option(None, help="Assigned person.")
AGENCY = typer.Option(None, "--agency", help="Agency id (the dataset's owner).")
DATE_FROM = typer.Option(None, "--from", help="First day (YYYY-MM-DD).")
DATE_TO = typer.Option(None, "--to", help="Last day (YYYY-MM-DD).")
OUT_FILE = typer.Option(None, "--out", help="File to write (default: standard output).")
LANG = typer.Option(None, "--lang", help="Language of the alert titles: zh or en (default: configured).")


def _language(lang: str | None) -> None:
    """Titles are rendered in this language (detectors.messages); the configured one when not given."""
    from odwatch.i18n import LANGUAGES, set_language

    if lang is None:
        return
    if lang not in LANGUAGES:
        raise UserError(f"Unknown language '{lang}'. Use zh or en.")
    set_language(lang)


def _actor() -> str:
    # The operating-system user, never a name given on the command line (warehouse.audit.cli_actor).
    return audit.cli_actor()


@alerts_app.command("list")
def alerts_list(
    category: str = CATEGORY, severity: str = SEVERITY, status: str = STATUS, dataset: str = DATASET,
    consumer: str = CONSUMER, entity: str = ENTITY, assignee: str = ASSIGNEE, agency: str = AGENCY,
    date_from: str = DATE_FROM, date_to: str = DATE_TO,
    family: str = typer.Option(None, help="malicious or agreement."),
    grouped: bool = typer.Option(False, "--grouped", help="One line per group of similar alerts."),
    limit: int = typer.Option(50, help="At most this many lines."),
    as_json: bool = typer.Option(False, "--json"),
    lang: str = LANG,
) -> None:
    """List alerts, newest first (or grouped by entity, category and dataset)."""
    from detectors.store import count_alerts, list_alerts

    _language(lang)
    client = _client()
    filters = _filters(category, severity, status, dataset, consumer, entity, assignee, agency, date_from,
                       date_to, limit, family)
    rows = list_alerts(client, filters, grouped=grouped)
    if as_json:
        _json([{k: v for k, v in r.items() if k != "evidence"} for r in rows])
        return
    table = Table()
    if grouped:
        for column in ("group", "alerts", "severity", "first", "last", "new/ack/conf/dism", "latest"):
            table.add_column(column)
        for r in rows:
            table.add_row(r["group_key"], str(r["count"]), r["severity"], f"{r['first_window']:%Y-%m-%d}",
                          f"{r['last_window']:%Y-%m-%d}",
                          f"{r['new']}/{r['acknowledged']}/{r['confirmed']}/{r['dismissed']}",
                          r["latest_title"])
    else:
        for column in ("id", "window", "category", "severity", "status", "assignee", "title"):
            table.add_column(column)
        for r in rows:
            table.add_row(r["alert_id"], f"{r['window_start']:%Y-%m-%d %H:%M}", r["category"], r["severity"],
                          r["status"], r["assignee"], r["title"])
    console.print(table)
    total = count_alerts(client, filters)
    console.print(f"{len(rows)} shown of {total} alert(s) matching.")


@alerts_app.command("show")
def alerts_show(alert_id: str, as_json: bool = typer.Option(False, "--json"), lang: str = LANG) -> None:
    """One alert with its evidence and history."""
    from detectors.messages import evidence_lines
    from detectors.store import get_alert

    _language(lang)
    alert = get_alert(_client(), alert_id)
    if alert is None:
        raise UserError(f"No alert with id {alert_id}.")
    if as_json:
        _json(alert)
        return
    console.print(alert["title"], style="bold", markup=False)
    for key in ("alert_id", "category", "detector_id", "article", "severity", "score", "status", "assignee",
                "consumer_id", "key_id", "client_ip", "dataset_id", "agency_id", "window_start", "window_end",
                "group_size", "violation_id"):
        if alert.get(key) not in ("", None):
            console.print(f"  {key}: {alert[key]}")
    for line in evidence_lines(alert["evidence"]):
        console.print(f"  {line['item']}: {line['value']}", markup=False)
    console.print("  evidence:")
    console.print_json(json.dumps(alert["evidence"], ensure_ascii=False, default=str))
    for event in alert["history"]:
        reason = f" ({event['reason']})" if event["reason"] else ""
        console.print(f"  {event['at']:%Y-%m-%d %H:%M:%S} {event['actor']} {event['action']} "
                      f"→ {event['status']}{reason}")


@alerts_app.command("ack")
def alerts_ack(alert_ids: list[str]) -> None:
    """Acknowledge new alerts."""
    from detectors import triage

    triage.acknowledge(_client(), alert_ids, _actor())
    console.print(f"Acknowledged {len(alert_ids)} alert(s).")


@alerts_app.command("assign")
def alerts_assign(alert_ids: list[str], to: str = typer.Option(..., "--to", help="Assignee.")) -> None:
    """Assign alerts to a person."""
    from detectors import triage

    triage.assign(_client(), alert_ids, to, _actor())
    console.print(f"Assigned {len(alert_ids)} alert(s) to {to}.")


@alerts_app.command("dismiss")
def alerts_dismiss(alert_ids: list[str],
                   reason: str = typer.Option(..., "--reason", help="Why (required).")) -> None:
    """Dismiss acknowledged alerts as false positives (a reason is required)."""
    from detectors import triage

    triage.dismiss(_client(), alert_ids, reason, _actor())
    console.print(f"Dismissed {len(alert_ids)} alert(s).")


@alerts_app.command("confirm")
def alerts_confirm(
    alert_ids: list[str],
    category: int = typer.Option(..., "--category", help="第三十一条 category 1-5."),
    measure: str = typer.Option("none", help="none, restrict or close."),
    days: int = typer.Option(None, help="Measure period in days (default: until lifted)."),
    description: str = typer.Option("", help="What happened, for the violation record."),
) -> None:
    """Confirm acknowledged alerts: records (or joins) a violation and its measure."""
    from detectors import triage

    violation_id = triage.confirm(_client(), alert_ids, _actor(), category, measure, days, description)
    console.print(f"Confirmed {len(alert_ids)} alert(s) as violation {violation_id} (measure: {measure}).")


@alerts_app.command("export")
def alerts_export(
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv."),
    out: Path = OUT_FILE,
    category: str = CATEGORY, severity: str = SEVERITY, status: str = STATUS, dataset: str = DATASET,
    consumer: str = CONSUMER, agency: str = AGENCY, date_from: str = DATE_FROM, date_to: str = DATE_TO,
    lang: str = LANG,
) -> None:
    """Export alerts, one per line, with entity, window, severity, score, title (in --lang) and evidence."""
    from detectors.export import export_alerts

    _language(lang)
    filters = _filters(category, severity, status, dataset, consumer, None, None, agency, date_from, date_to)
    count, text = export_alerts(_client(), fmt, out, filters)
    audit.record_cli(_client(), "export", "alerts", str(out or "-"), {"format": fmt, "alerts": count, **{
        k: v for k, v in vars(filters).items() if v and k not in ("limit", "offset")}})
    if text is not None:
        typer.echo(text, nl=False)
    else:
        Console(stderr=True).print(f"Wrote {count} alert(s) to {out}.")


@detectors_app.command("list")
def detectors_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every detector with its family, article, look-back, parameters and whether it is enabled."""
    from detectors.registry import describe
    from odwatch.settings import get_settings

    rows = describe(get_settings())
    if as_json:
        _json(rows)
        return
    table = Table("id", "family", "article", "enabled", "parameters")
    for row in rows:
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
        table.add_row(row["id"], row["family"], row["article"], "yes" if row["enabled"] else "no", params)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the main CLI."""
    app.command("detect")(detect)
    app.add_typer(detectors_app, name="detectors")
    app.add_typer(alerts_app, name="alerts")


__all__ = ["register", "parse_time", "SHANGHAI"]
