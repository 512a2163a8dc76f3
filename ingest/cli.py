"""The `odwatch` commands of the ingest package."""

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the main CLI."""
