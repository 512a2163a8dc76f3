"""The `odwatch` commands of the reports package."""

import typer

import reports.cli_quality


def register(app: typer.Typer) -> None:
    """Add this package's commands to the main CLI."""
    reports.cli_quality.register(app)
