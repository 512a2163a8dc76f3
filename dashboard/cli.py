"""The `odwatch` commands of the dashboard package: `serve` and `users`."""

from __future__ import annotations

import gc
import getpass
import signal
import sys
from pathlib import Path

import click
import typer
from rich.console import Console
from rich.table import Table

from odwatch.errors import UserError
from odwatch.i18n import LANGUAGES, catalog
from odwatch.settings import get_settings
from warehouse import connect

APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"
HAS_TRAFFIC = "SELECT count() > 0 FROM (SELECT 1 FROM access_log LIMIT 1)"
# How serve runs Streamlit.
STREAMLIT_OPTIONS = [
    "--server.headless", "true", "--browser.gatherUsageStats", "false",
    "--server.fileWatcherType", "none", "--global.developmentMode", "false",
    "--client.toolbarMode", "viewer",
    # Streamlit forces a full gc.collect() after every script run by default. With the
    # report libraries loaded that is 150-250 ms holding the GIL, and the message that
    # ends the run waits behind it: every click paid it. Python's own collector still runs.
    "--runner.postScriptGC", "false",
]

console = Console()
users_app = typer.Typer(help="Dashboard accounts.", no_args_is_help=True)


def read_password(stdin=None) -> str:
    """Prompt twice on a terminal; otherwise read exactly one line (for scripts and pipes)."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise UserError("The two passwords differ; nothing was saved.")
        return first
    line = stdin.readline().rstrip("\r\n")
    if not line:
        raise UserError("No password on standard input: pipe one line with the password.")
    return line


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="The username."),
    role: str = typer.Option(..., "--role", help="official | security | agency | admin"),
    agency: str = typer.Option("", "--agency", help="The agency_id an agency account is scoped to."),
) -> None:
    """Create an account (or reset its role and password); the password is prompted or read from stdin."""
    from dashboard import auth  # argon2 and friends load only for account commands
    client = connect(get_settings())
    auth._check_account(client, name, role, agency)
    user = auth.add_user(client, name, role, read_password(), agency)
    scope = f" for agency {user.agency_id}" if user.agency_id else ""
    console.print(f"Saved account {user.username} with role {user.role}{scope}.")


@users_app.command("list")
def users_list() -> None:
    """List the accounts."""
    from dashboard import auth  # argon2 and friends load only for account commands
    table = Table("username", "role", "agency", "status", "updated")
    for row in auth.list_users(connect(get_settings())):
        status = "disabled" if row["disabled"] else "active"
        table.add_row(row["username"], row["role"], row["agency_id"] or "—", status,
                      row["updated_at"].strftime("%Y-%m-%d %H:%M"))
    console.print(table)


@users_app.command("disable")
def users_disable(name: str = typer.Argument(..., help="The username.")) -> None:
    """Disable an account: it can no longer sign in."""
    from dashboard import auth  # argon2 and friends load only for account commands
    auth.disable_user(connect(get_settings()), name)
    console.print(f"Disabled account {name}.")


def build_demo_if_empty(client, settings) -> bool:
    """Build the small demo platform when the warehouse has no access-log rows; True when it did.

    The same steps as `odwatch demo` (its build, then its list of follow-up steps,
    which ends by creating one account per role); each step's outcome is printed,
    the demo accounts' passwords included, once.
    """
    if client.query(HAS_TRAFFIC).result_rows[0][0]:
        return False
    import odwatch.demo
    from ingest.synthetic import build_demo

    console.print("The warehouse is empty: building the demo platform first…")
    summary = build_demo(client, settings, scale="small", progress=True)
    console.print(f"Loaded {summary.events:,} access events.")
    for label, outcome in odwatch.demo.run_steps(client, settings):
        print(f"{label}: {outcome}", flush=True)
    return True


def serve(
    port: int = typer.Option(8501, "--port", help="The port to listen on."),
    address: str = typer.Option("127.0.0.1", "--address", help="The address to listen on."),
    demo_if_empty: bool = typer.Option(False, "--demo-if-empty",
                                       help="Build the demo platform first when there is no traffic yet."),
) -> None:
    """Run the dashboard, with spool ingest and the detector schedule in the same process."""
    from dashboard import auth, jobs
    settings = get_settings()
    # Opening the engine here, in the process that will run the server, both fails
    # early when another process holds it and keeps it to this one process.
    client = connect(settings)
    if demo_if_empty:
        build_demo_if_empty(client, settings)
    if not auth.list_users(client):
        console.print("[yellow]No accounts yet: create one with "
                      "`odwatch users add NAME --role admin` to sign in.[/yellow]")
    import os

    from streamlit.web import cli as streamlit_cli

    _warm_up()
    os.environ[jobs.SERVE_ENV] = "1"
    console.print(f"Dashboard on http://{address}:{port}/")
    # uvicorn shuts down cleanly on SIGINT or SIGTERM, then raises the signal again: SIGTERM's
    # default would end the process there, before Python's own clean-up. As Ctrl+C, it ends here.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        streamlit_cli.main.main(
            args=["run", str(APP_PATH), "--server.port", str(port), "--server.address", address,
                  *STREAMLIT_OPTIONS],
            prog_name="streamlit", standalone_mode=False,
        )
    except click.exceptions.Abort:
        console.print("Dashboard stopped.")


def _warm_up() -> None:
    """Load what every page uses and draw one figure before the first visitor arrives.

    Streamlit runs the pages in this process, so their libraries (polars, pyarrow, plotly
    and its validators, the report modules) would otherwise load during a user's first page
    view and add seconds to it. Likewise the message catalogs. (The modules with Streamlit
    caches, dashboard.session and those importing it, load with the first run: imported
    before the server exists, each cache would log a warning; they take 15 ms.)
    """
    import polars as pl

    import detectors.store  # noqa: F401
    import reports.applications
    import reports.complaints
    import reports.evaluation
    import reports.overview
    import reports.quality
    import reports.usage
    import reports.violations  # noqa: F401
    from dashboard import charts

    sample = pl.DataFrame({"name": ["a", "b"], "calls": [1, 2]})
    charts.bar(sample, "name", "calls", "", horizontal=True).to_json()
    charts.line(sample, "name", "calls", "").to_json()
    charts.pie(sample, "name", "calls", "").to_json()
    for lang in LANGUAGES:
        catalog(lang)
    _skip_repl_check()
    _freeze_loaded_objects()


def _freeze_loaded_objects() -> None:
    """Keep what is loaded by now (libraries, catalogs: alive as long as the server) out of the
    garbage collector's full passes. Each full pass walked all of it, 100-550 ms holding the GIL
    at whatever click it fell on; after the freeze, 10-20 ms."""
    gc.collect()
    gc.freeze()


def _skip_repl_check() -> None:
    """Spare the first visitor Streamlit's check for a Python REPL.

    Streamlit's first element in a process calls `inspect.stack()` to warn a REPL user to use
    `streamlit run`; that walks every loaded module (those the server loads after this
    warm-up too): 40-90 ms of the first script run, the sign-in page's. serve always runs
    the app through `streamlit run`, so the check can only answer no: mark it done.
    """
    from streamlit import delta_generator

    delta_generator._use_warning_has_been_displayed = True


def register(app: typer.Typer) -> None:
    """Add this package's commands to the main CLI."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
