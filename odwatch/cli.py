"""The `odwatch` command. Each package adds its own commands through `register(app)`."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

import dashboard.cli
import demo.cli
import detectors.cli
import ingest.cli
import reports.cli
from odwatch.errors import UserError
from odwatch.settings import get_settings
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
    if applied:
        audit.record_cli(connect(), "schema.migrate", "database", get_settings().clickhouse_database,
                         {"applied": applied})
    console.print(f"Applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}.")


CHECKPOINT_LINES = typer.Option(
    None, "--checkpoint", help="A checkpoint line kept elsewhere (an external log); may be repeated.")


@audit_app.command("verify")
def audit_verify(checkpoints: list[str] = CHECKPOINT_LINES) -> None:
    """Check that no audit entry was edited, deleted, reordered or cut off since the last checkpoint."""
    external = [audit.Checkpoint.parse(line) for line in checkpoints or []]
    settings = get_settings()
    count, problems = audit.verify(connect(settings), settings, external)
    if not problems:
        console.print(f"Audit trail intact: {count} entries, chain and checkpoints verified "
                      f"({audit.checkpoint_path(settings)}).", soft_wrap=True)
        return
    console.print(f"[red]Audit trail broken: {len(problems)} problem(s) in {count} entries.[/red]")
    for problem in problems:
        where = f"entry {problem.seq}" if problem.seq else "checkpoints"
        console.print(f"  {where}: {problem.problem}", markup=False, soft_wrap=True)
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Publish the trail's head: appended to the checkpoint file and printed as one line of JSON
    for an external log (e.g. `odwatch audit checkpoint | logger -t odwatch-audit`)."""
    settings = get_settings()
    point = audit.checkpoint(connect(settings), settings)
    if point is None:
        Console(stderr=True).print("The audit trail is empty: nothing to checkpoint.")
        return
    typer.echo(point.line())
    Console(stderr=True).print(f"Checkpoint at entry {point.seq} appended to "
                               f"{audit.checkpoint_path(settings)}.", soft_wrap=True)


DEMO_IF_EMPTY = typer.Option(False, "--demo-if-empty",
                             help="Build the demo platform first when there is no traffic yet.")


@app.command()
def serve(
    port: int = typer.Option(8501, "--port", help="The port to listen on."),
    address: str = typer.Option("127.0.0.1", "--address", help="The address to listen on."),
    demo_if_empty: bool = DEMO_IF_EMPTY,
) -> None:
    """Run the dashboard, with spool ingest and the detector schedule in the same process."""
    dashboard.cli.serve(port, address, ["serve-prepare", *(["--demo-if-empty"] if demo_if_empty else [])])


@app.command("serve-prepare", hidden=True)
def serve_prepare(demo_if_empty: bool = DEMO_IF_EMPTY) -> None:
    """What serve does before the dashboard starts, in a process of its own (see dashboard.cli.serve)."""
    from reports.notify.health import check_channels

    settings = get_settings()
    check_channels(settings)        # a channel's secret missing from the environment: named, exit 2
    client = connect(settings)      # EngineBusy, one plain sentence, when another process holds it
    created = audit.ensure_key(settings)
    if created:
        console.print(f"Created the audit key {created} (keep it, and a copy, away from the data directory).",
                      soft_wrap=True)
    if demo_if_empty:
        demo.cli.build_demo_if_empty(client, settings)
    dashboard.cli.warn_if_no_accounts(client)


ingest.cli.register(app)
detectors.cli.register(app)
reports.cli.register(app)
dashboard.cli.register(app)
demo.cli.register(app, detectors.cli.detectors_app)


def main() -> None:
    """Run the CLI; user-facing errors become one plain sentence and exit code 2.

    Without standalone mode click returns a command's `typer.Exit` code instead of exiting with
    it, so the code is passed on here: a failed check must reach a cron job or a monitor.
    """
    try:
        code = app(standalone_mode=False)
    except (EngineBusy, UserError) as exc:
        # Not markup: a message may quote a config table such as [detectors."burst"].
        Console(stderr=True).print(str(exc), style="red", markup=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        Console(stderr=True).print("Interrupted.")
        sys.exit(130)
    except typer.TyperException as exc:         # a bad option or command: click's message, exit 2
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        Console(stderr=True).print(f"odwatch failed: {exc} (run with ODWATCH_DEBUG=1 for details)",
                                   style="red", markup=False)
        if os.environ.get("ODWATCH_DEBUG"):
            raise
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
