"""The `odwatch quality` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import get_settings
from reports.filters import ReportFilters
from warehouse import audit, connect

quality_app = typer.Typer(help="Dataset quality scores (第十六条, 第三十七条).", no_args_is_help=True)
console = Console()


def files_for(paths: list[Path], dataset: str | None) -> dict[str, Path]:
    """Map dataset ids to files: `--dataset ID` names one file; otherwise a file's stem is its id.

    A directory stands for the supported files directly inside it.
    """
    if dataset:
        if len(paths) != 1 or not paths[0].is_file():
            raise UserError("--dataset takes exactly one data file.")
        return {dataset: paths[0]}
    found: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            from reports.profiling import SUPPORTED_SUFFIXES  # polars loads only when scanning

            members = sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)
        elif path.is_file():
            members = [path]
        else:
            raise UserError(f"No such file or directory: {path}")
        for member in members:
            if member.stem in found:
                raise UserError(f"Two files for dataset {member.stem}: {found[member.stem]} and {member}.")
            found[member.stem] = member
    return found


@quality_app.command("scan")
def scan(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Data files named <dataset_id>.<ext>, or folders of them.")] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="The dataset id of the single PATH given.")] = None,
) -> None:
    """Score every dataset of the catalog; profile the data files given."""
    from reports.quality import dataset_scores, scan_catalog

    settings = get_settings()
    files = files_for(list(paths or []), dataset)
    client = connect(settings)
    run_id = scan_catalog(client, settings, files, progress=True)
    audit.record_cli(client, "quality.scan", "quality_run", run_id,
                 {"files": {k: str(v) for k, v in files.items()}})
    today = clock.today()
    scores = [s for s in dataset_scores(client, ReportFilters(today, today)) if s["run_id"] == run_id]
    if not scores:
        console.print("The catalog is empty: load it with `odwatch load-reference DIR` first.")
        return
    mean = sum(s["total"] for s in scores) / len(scores)
    console.print(f"Run {run_id}: {len(scores)} dataset(s) scored, {len(files)} file(s) profiled, "
                  f"mean score {mean:.1f}.")
    table = Table("dataset", "agency", "score", "profiled", "causes", title="Lowest scores")
    for s in scores[:10]:
        table.add_row(s["dataset_id"], s["agency_name"] or s["agency_id"], f"{s['total']:.1f}",
                      "yes" if s["profiled"] else "no", str(s["causes"]))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the quality commands to the main CLI."""
    app.add_typer(quality_app, name="quality")
