"""`odwatch demo`: build the demo platform."""

import typer


def register(app: typer.Typer) -> None:
    """Add the demo command to the main CLI."""
