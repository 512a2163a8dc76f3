"""The `odwatch` commands of the dashboard package: `serve` and `users`."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from odwatch.errors import UserError
from odwatch.settings import get_settings
from warehouse import connect

APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"
HAS_TRAFFIC = "SELECT count() > 0 FROM (SELECT 1 FROM access_log LIMIT 1)"
# `streamlit run`'s documented options: no browser opened on the server, no usage statistics
# sent, no watching of the source files, and no developer menu for the dashboard's users.
STREAMLIT_OPTIONS = [
    "--server.headless", "true", "--browser.gatherUsageStats", "false",
    "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer",
]
# The signals that stop serve (Ctrl+C, kill, a closed terminal), passed on to the process it runs.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

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
    from dashboard import jobs

    # chDB lets one process at a time open a data directory, and the dashboard's process (Streamlit's)
    # must open it. The checks that open it first run in a process of their own, whose exit lets go
    # of the directory whatever it opened; closing the clients here would let go of it too, but this
    # process would keep the engine's memory for as long as the dashboard runs.
    code, _ = run_to_the_end([sys.executable, "-m", "odwatch", "serve-prepare",
                              *(["--demo-if-empty"] if demo_if_empty else [])])
    if code:
        # Not typer.Exit: odwatch.cli.main runs the app with standalone_mode=False, which drops its code.
        raise SystemExit(code)
    console.print(f"Dashboard on http://{address}:{port}/")
    code, stopped = run_to_the_end(
        [sys.executable, "-m", "streamlit", "run", str(APP_PATH),
         "--server.port", str(port), "--server.address", address, *STREAMLIT_OPTIONS],
        env={**os.environ, jobs.SERVE_ENV: "1"},
    )
    if stopped:
        console.print("Dashboard stopped.")
    if code:
        raise SystemExit(code)


def serve_prepare(
    demo_if_empty: bool = typer.Option(False, "--demo-if-empty",
                                       help="Build the demo platform first when there is no traffic yet."),
) -> None:
    """What serve does before the dashboard starts, in a process of its own (see serve)."""
    from dashboard import auth

    settings = get_settings()
    client = connect(settings)      # EngineBusy, one plain sentence, when another process holds it
    if demo_if_empty:
        build_demo_if_empty(client, settings)
    if not auth.list_users(client):
        console.print("[yellow]No accounts yet: create one with "
                      "`odwatch users add NAME --role admin` to sign in.[/yellow]")


def run_to_the_end(command: list[str], env: dict[str, str] | None = None) -> tuple[int, bool]:
    """Run `command` until it exits, passing on the signals that would stop this process.

    Returns its exit status (128 + N when signal N ended it) and whether a signal was passed on.
    The command gets a process group of its own, so that a Ctrl+C in the terminal reaches it once,
    from here, rather than twice. A signal this process ignores (started with nohup, say) stays
    ignored.
    """
    received: list[int] = []
    child: subprocess.Popen | None = None

    def pass_on(signum: int, frame: object) -> None:
        received.append(signum)
        if child is not None:
            child.send_signal(signum)

    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum, handler in previous.items():
        if handler != signal.SIG_IGN:
            signal.signal(signum, pass_on)
    try:
        child = subprocess.Popen(command, env=env, process_group=0)
        if received:                # a signal that came before the command had started
            child.send_signal(received[-1])
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return (128 - code if code < 0 else code), bool(received)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the main CLI."""
    app.command("serve")(serve)
    app.command("serve-prepare", hidden=True)(serve_prepare)
    app.add_typer(users_app, name="users")
