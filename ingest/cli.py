"""The `odwatch ingest`, `odwatch load-reference` and `odwatch mapping init` commands."""

from __future__ import annotations

import atexit
import json
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingest.loader import ChunkReport, IngestSummary, ingest_paths
from ingest.mapping import FileReport, load_mapping
from ingest.readers import FORMATS, Limits, check_encoding
from ingest.reference import UNPLACED, ReferenceResult, load_reference_dir
from ingest.spool import drop_into_spool
from ingest.survey import starting_mapping_for
from odwatch.errors import UserError
from odwatch.settings import Settings, get_settings
from warehouse import EngineBusy, audit, connect

console = Console()
FORMAT_HELP = f"One of {', '.join(FORMATS)}; default: from the extension or the content."
MAPPING_HELP = "A mapping file (TOML) for files in other column names or values; see docs/connecting.md."
ENCODING_HELP = "The files' text encoding (utf-8, gbk, gb18030); default: detected."
DRY_RUN_HELP = "Read and check everything, load nothing; print what would happen to each file."

mapping_app = typer.Typer(help="Mapping files: a platform's own exports onto the input contract.",
                          no_args_is_help=True)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Access-log files (JSONL, CSV, Parquet, web log).")],
    fmt: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    mapping_file: Annotated[Path | None, typer.Option("--mapping", help=MAPPING_HELP)] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help=ENCODING_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit with 1 when any line is rejected.")] = False,
) -> None:
    """Load access-log files: validate every line, skip duplicates, quarantine bad lines.

    Exits with 1 when a file was stopped by a limit (or, with --strict, when any line was rejected).
    """
    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    for path in paths:
        if not path.is_file():
            raise UserError(f"No such file: {path}")
    mapping = load_mapping(mapping_file)
    encoding = check_encoding(encoding)
    settings = get_settings()
    try:
        client = connect(settings)
        scratch_note = ""
    except EngineBusy:
        if not dry_run:
            _spool(settings, paths, fmt, mapping_file, encoding, as_json)
            return
        # A dry run stores nothing, so a scratch engine can check the lines; only the events
        # already stored in the real one are unknown to it.
        scratch = Path(tempfile.mkdtemp(prefix="odwatch-dry-run-"))
        atexit.register(shutil.rmtree, scratch, True)
        client = connect(Settings(data_dir=scratch))
        scratch_note = ("The engine is held by another odwatch process, so the lines were checked in a "
                        "scratch engine: duplicates of events already stored are not counted.")
    on_terminal = sys.stdout.isatty()
    summary = ingest_paths(client, paths, fmt, settings=settings, mapping=mapping, encoding=encoding,
                           dry_run=dry_run, progress=on_terminal and not as_json,
                           on_chunk=None if on_terminal or as_json or dry_run else print_chunk)
    if not dry_run:
        audit.record_cli(client, "ingest", "access_log", ", ".join(map(str, paths)), summary.as_dict())
    if as_json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False, default=str))
    else:
        if dry_run:
            for report in summary.file_reports:
                print_file_report(report)
        print_summary(summary)
        if scratch_note:
            console.print(scratch_note, markup=False)
    if summary.stopped:
        raise typer.Exit(1)
    if strict and summary.rejected:
        Console(stderr=True).print(f"--strict: {summary.rejected:,} line(s) rejected.", markup=False)
        raise typer.Exit(1)


def _spool(settings: Settings, paths: list[Path], fmt: str | None, mapping_file: Path | None,
           encoding: str | None, as_json: bool) -> None:
    dropped = drop_into_spool(settings, paths, fmt, mapping_file=mapping_file, encoding=encoding)
    if as_json:
        # Same keys as a summary: nothing was read here; the serving process reads the files.
        print(json.dumps({"read": 0, "inserted": 0, "duplicates": 0, "rejected": 0,
                          "spooled": [str(p) for p in dropped]}))
    else:
        console.print(
            f"The engine is held by another odwatch process (probably `odwatch serve`), so "
            f"{len(dropped)} file(s) went to the spool {settings.spool_dir} for it to ingest.",
            soft_wrap=True, markup=False,
        )


def print_chunk(report: ChunkReport) -> None:
    """A plain line per stored batch when the output is not a terminal (logs, pipes)."""
    last = report.first_line + report.lines - 1
    verdict = ("already loaded" if report.already_loaded else
               f"{report.inserted} inserted, {report.duplicates} duplicates, {report.rejected} rejected")
    print(f"{report.source} lines {report.first_line}-{last}: {verdict}", flush=True)
    if report.stopped:
        print(f"{report.source} line {report.first_line}: {report.stopped}", flush=True)


def print_summary(summary: IngestSummary) -> None:
    verb = "would be " if summary.dry_run else ""
    table = Table(title="Ingest summary (dry run: nothing stored)" if summary.dry_run else "Ingest summary",
                  show_header=False)
    table.add_row("lines read", f"{summary.read:,}")
    table.add_row(f"{verb}inserted", f"{summary.inserted:,}")
    table.add_row("duplicates", f"{summary.duplicates:,}")
    table.add_row(f"{verb}rejected", f"{summary.rejected:,}")
    for reason, count in sorted(summary.rejected_by_reason.items(), key=lambda item: -item[1]):
        table.add_row(f"  {_plain(reason)}", f"{count:,}")
    for column, count in sorted(summary.defaulted.items()):
        table.add_row(f"defaulted: {column}", f"{count:,}")
    table.add_row("elapsed", f"{summary.elapsed_s:.1f} s")
    table.add_row("rows/s", f"{summary.rows_per_s:,.0f}")
    console.print(table)
    for stop in summary.stopped:
        console.print(f"{stop['source']} line {stop['line']:,}: {stop['reason']}", markup=False,
                      soft_wrap=True)
    if summary.rejected and not summary.dry_run:
        stored = summary.rejected - summary.rejected_not_stored
        cap = get_settings().ingest_rejects_stored_per_reason
        more = (f" ({stored:,} stored; past the first {cap:,} of a reason in a file, lines are counted "
                "only)") if summary.rejected_not_stored else ""
        console.print(f"Rejected lines, with their reasons, are in the table rejected_rows{more}.",
                      markup=False)


def _plain(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def print_file_report(report: FileReport) -> None:
    """What a dry run found in one file: where each column goes, what it cannot place or map, the rows."""
    def say(text: str) -> None:
        console.print(text, markup=False, soft_wrap=True, highlight=False)

    if report.problem:
        say(f"{report.path}: not loaded: {report.problem}")
        return
    found = f"; table from its {report.found_by}" if report.found_by else ""
    say(f"{report.table} ← {report.path} ({report.format}, {report.encoding}{found})")
    for p in report.columns:
        if p.how in ("contract", "alias", "mapping"):
            say(f"  {p.source} → {p.column}" + ("" if p.how == "contract" else f" ({p.how})"))
        elif p.how == "duplicate":
            say(f"  {p.source} → left out: {p.column} is found in another column too")
        elif p.how == "ignored":
            say(f"  {p.source} → left out (mapping file)")
        else:
            hint = f"; closest contract column: {p.closest}" if p.closest else ""
            say(f"  {p.source} → not placed{hint}")
    if report.missing_required:
        say(f"  missing, required: {', '.join(report.missing_required)} (rows without it are rejected)")
    if report.missing_defaulted:
        say(f"  not in the file (defaults apply): {', '.join(report.missing_defaulted)}")
    for column, values in report.unmapped_values.items():
        listed = ", ".join(f'"{v}" ×{n}' for v, n in sorted(values.items(), key=lambda kv: -kv[1])[:10])
        say(f"  {column}: values with no match: {listed}")
    if report.table == "access_log":
        say(f"  lines: {report.read:,} read, {report.loaded:,} inserted, {report.duplicates:,} duplicates, "
            f"{report.rejected:,} rejected")
    else:
        say(f"  rows: {report.read:,} read, {report.loaded:,} loaded, {report.rejected:,} rejected")
    for reason, count in sorted(report.reasons.items(), key=lambda kv: -kv[1]):
        say(f"    rejected: {reason} ({count:,})")
    for column, count in sorted(report.defaulted.items()):
        say(f"    defaulted: {column} ({count:,})")
    for kind, count in sorted(report.corrected.items()):
        say(f"    corrected: {kind} ({count:,})")
    for kind, count in sorted(report.unmatched.items()):
        say(f"    unmatched: {kind} ({count:,})")
    if report.stopped:
        say(f"  {report.stopped}")


def load_reference(
    directory: Annotated[Path, typer.Argument(help="Folder of reference files: <table>.csv / .jsonl or "
                                                   "a platform's own exports.")],
    mapping_file: Annotated[Path | None, typer.Option("--mapping", help=MAPPING_HELP)] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help=ENCODING_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as one JSON object.")] = False,
) -> None:
    """Load reference data (agencies, datasets, consumers, keys, agreements, applications, reports,
    complaints), upserting by id. Exits with 1 when a file was not loaded or was stopped by a limit."""
    mapping = load_mapping(mapping_file)
    encoding = check_encoding(encoding)
    settings = get_settings()
    try:
        client = connect(settings)
    except EngineBusy:
        if not dry_run:
            raise
        client = None     # a dry run without the engine: the catalog checks are left out
    results = load_reference_dir(client, directory, mapping=mapping, encoding=encoding, dry_run=dry_run,
                                 limits=Limits.from_settings(settings),
                                 stored_per_reason=settings.ingest_rejects_stored_per_reason)
    if not dry_run:
        audit.record_cli(client, "load_reference", "reference", str(directory),
                         {name: {"loaded": r.loaded, "rejected": r.rejected} for name, r in results.items()})
    if as_json:
        print(json.dumps({name: asdict(r) for name, r in results.items()}, ensure_ascii=False, default=str))
    else:
        _print_reference(results, dry_run, engine_checked=client is not None)
    failed = UNPLACED in results or any(f.stopped for r in results.values() for f in r.files)
    if failed and not dry_run:
        raise typer.Exit(1)


def _print_reference(results: dict[str, ReferenceResult], dry_run: bool, engine_checked: bool) -> None:
    if dry_run:
        for result in results.values():
            for report in result.files:
                print_file_report(report)
        if not engine_checked:
            console.print("The engine is held by another odwatch process: rows were not checked against the "
                          "catalog (owners, agency names).", markup=False)
    _print_results(results, dry_run)


def _print_results(results: dict[str, ReferenceResult], dry_run: bool) -> None:
    table = Table(title="Reference data (dry run: nothing loaded)" if dry_run else "Reference data")
    loaded = "would load" if dry_run else "loaded"
    for column in ("table", loaded, "rejected", "reasons", "defaulted", "corrected", "unmatched"):
        table.add_column(column)
    for name, result in results.items():
        if name == UNPLACED:
            continue
        def listed(counts: dict) -> str:
            return _plain("; ".join(f"{key} ({count:,})" for key, count in counts.items()))
        table.add_row(name, f"{result.loaded:,}", f"{result.rejected:,}", listed(result.reasons),
                      listed(result.defaulted), listed(result.corrected), listed(result.unmatched))
    console.print(table)
    for report in results.get(UNPLACED, ReferenceResult(UNPLACED, "")).files:
        console.print(f"Not loaded: {report.path}: {report.problem}", markup=False, soft_wrap=True)


@mapping_app.command("init")
def mapping_init(
    directory: Annotated[Path, typer.Argument(help="Folder of exports and logs to write a mapping for.")],
    encoding: Annotated[str | None, typer.Option("--encoding", help=ENCODING_HELP)] = None,
) -> None:
    """Print a starting mapping file for the files in DIR: `odwatch mapping init DIR > mapping.toml`."""
    sys.stdout.write(starting_mapping_for(directory, check_encoding(encoding)))


def register(app: typer.Typer) -> None:
    """Add this package's commands to the main CLI."""
    app.command("ingest")(ingest)
    app.command("load-reference")(load_reference)
    app.add_typer(mapping_app, name="mapping")
