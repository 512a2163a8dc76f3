"""The `odwatch` command. Each package adds its own commands through `register(app)`."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

import dashboard.cli
import detectors.cli
import ingest.cli
import odwatch.demo
import reports.cli
from odwatch.errors import UserError
from warehouse import EngineBusy, audit, connect, ensure_schema

app = typer.Typer(help="Open Data Watch: supervision and compliance analytics for public data.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
console = Console()


@app.command()
def migrate() -> None:
    """Create the database and apply pending schema migrations."""
    applied = ensure_schema()
    console.print(f"Applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}.")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check that no audit entry was edited or deleted."""
    count, problems = audit.verify(connect())
    if not problems:
        console.print(f"Audit trail intact: {count} entries, chain verified.")
        return
    console.print(f"[red]Audit trail broken: {len(problems)} problem(s) in {count} entries.[/red]")
    for problem in problems:
        console.print(f"  entry {problem.seq}: {problem.problem}")
    raise typer.Exit(1)


ingest.cli.register(app)
detectors.cli.register(app)
reports.cli.register(app)
dashboard.cli.register(app)
odwatch.demo.register(app)


def main() -> None:
    """Run the CLI; user-facing errors become one plain sentence and exit code 2."""
    try:
        app(standalone_mode=False)
    except (EngineBusy, UserError) as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]")
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        Console(stderr=True).print("Interrupted.")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        Console(stderr=True).print(f"[red]odwatch failed: {exc}[/red] (run with ODWATCH_DEBUG=1 for details)")
        if __import__("os").environ.get("ODWATCH_DEBUG"):
            raise
        sys.exit(1)


if __name__ == "__main__":
    main()
