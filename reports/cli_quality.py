"""The `odwatch quality` commands."""

import typer


def register(app: typer.Typer) -> None:
    """Add the quality commands to the main CLI."""
