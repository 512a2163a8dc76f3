"""The `odwatch ingest` and `odwatch load-reference` commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingest.loader import ChunkReport, IngestSummary, ingest_paths
from ingest.readers import FORMATS
from ingest.reference import load_reference_dir
from ingest.spool import drop_into_spool
from odwatch.errors import UserError
from odwatch.settings import get_settings
from warehouse import EngineBusy, audit, connect

console = Console()
FORMAT_HELP = f"One of {', '.join(FORMATS)}; default: from the extension or the content."


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Access-log files (JSONL, CSV, Parquet, web log).")],
    fmt: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Load access-log files: validate every line, skip duplicates, quarantine bad lines."""
    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    for path in paths:
        if not path.is_file():
            raise UserError(f"No such file: {path}")
    settings = get_settings()
    try:
        client = connect(settings)
    except EngineBusy:
        dropped = drop_into_spool(settings, paths, fmt)
        if as_json:
            # Same keys as a summary: nothing was read here; the serving process reads the files.
            print(json.dumps({"read": 0, "inserted": 0, "duplicates": 0, "rejected": 0,
                              "spooled": [str(p) for p in dropped]}))
        else:
            console.print(
                f"The engine is held by another odwatch process (probably `odwatch serve`), so "
                f"{len(dropped)} file(s) went to the spool {settings.spool_dir} for it to ingest.",
                soft_wrap=True,
            )
        return
    on_terminal = sys.stdout.isatty()
    summary = ingest_paths(client, paths, fmt, settings=settings, progress=on_terminal and not as_json,
                           on_chunk=None if on_terminal or as_json else print_chunk)
    audit.record_cli(client, "ingest", "access_log", ", ".join(map(str, paths)), summary.as_dict())
    if as_json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        print_summary(summary)


def print_chunk(report: ChunkReport) -> None:
    """A plain line per stored batch when the output is not a terminal (logs, pipes)."""
    last = report.first_line + report.lines - 1
    verdict = ("already loaded" if report.already_loaded else
               f"{report.inserted} inserted, {report.duplicates} duplicates, {report.rejected} rejected")
    print(f"{report.source} lines {report.first_line}-{last}: {verdict}", flush=True)


def print_summary(summary: IngestSummary) -> None:
    table = Table(title="Ingest summary", show_header=False)
    table.add_row("lines read", f"{summary.read:,}")
    table.add_row("inserted", f"{summary.inserted:,}")
    table.add_row("duplicates", f"{summary.duplicates:,}")
    table.add_row("rejected", f"{summary.rejected:,}")
    for reason, count in sorted(summary.rejected_by_reason.items(), key=lambda item: -item[1]):
        table.add_row(f"  {reason}", f"{count:,}")
    table.add_row("elapsed", f"{summary.elapsed_s:.1f} s")
    table.add_row("rows/s", f"{summary.rows_per_s:,.0f}")
    console.print(table)
    if summary.rejected:
        console.print("Rejected lines, with their reasons, are in the table rejected_rows.")


def load_reference(
    directory: Annotated[Path, typer.Argument(help="Folder with <table>.csv or <table>.jsonl files.")],
) -> None:
    """Load reference data (agencies, datasets, consumers, keys, agreements, applications, reports,
    complaints), upserting by id."""
    client = connect(get_settings())
    results = load_reference_dir(client, directory)
    audit.record_cli(client, "load_reference", "reference", str(directory),
                     {name: {"loaded": r.loaded, "rejected": r.rejected} for name, r in results.items()})
    table = Table(title="Reference data")
    for column in ("table", "loaded", "rejected", "reasons"):
        table.add_column(column)
    for name, result in results.items():
        reasons = "; ".join(f"{reason} ({count})" for reason, count in result.reasons.items())
        table.add_row(name, f"{result.loaded:,}", f"{result.rejected:,}", reasons)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the main CLI."""
    app.command("ingest")(ingest)
    app.command("load-reference")(load_reference)
