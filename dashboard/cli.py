"""The `odwatch` commands of the dashboard package: `serve` and `users`.

Every `users` command that changes an account is audited as the operating-system user who ran it."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
from pathlib import Path

import typer
from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table

from odwatch.errors import UserError
from odwatch.settings import get_settings
from warehouse import audit, connect

APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"
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
    """Create an account (an existing name is refused); the password is prompted or read from stdin."""
    from dashboard import auth  # argon2 and friends load only for account commands
    client = connect(get_settings())
    auth._check_account(client, name, role, agency)       # before asking for a password
    user = auth.add_user(client, name, role, read_password(), agency, actor=audit.cli_actor())
    scope = f" for agency {user.agency_id}" if user.agency_id else ""
    console.print(f"Saved account {user.username} with role {user.role}{scope}.")


@users_app.command("password")
def users_password(name: str = typer.Argument(..., help="The username.")) -> None:
    """Set a new password for an account (prompted, or read from stdin)."""
    from dashboard import auth
    client = connect(get_settings())
    auth._existing(client, name)
    auth.set_password(client, name, read_password(), actor=audit.cli_actor())
    console.print(f"Set a new password for {name}.")


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
    auth.disable_user(connect(get_settings()), name, actor=audit.cli_actor())
    console.print(f"Disabled account {name}.")


@users_app.command("enable")
def users_enable(name: str = typer.Argument(..., help="The username.")) -> None:
    """Re-enable a disabled account."""
    from dashboard import auth
    auth.enable_user(connect(get_settings()), name, actor=audit.cli_actor())
    console.print(f"Enabled account {name}.")


@users_app.command("unthrottle")
def users_unthrottle(
    name: str = typer.Argument("", help="The username whose failed sign-ins are forgotten."),
    address: str = typer.Option("", "--address", help="Or a client address (IPv6: its /64) instead."),
) -> None:
    """Forget the failed sign-ins of an account (from every address) or of an address (on every account)."""
    from dashboard import auth
    cleared = auth.unthrottle(connect(get_settings()), name, address, actor=audit.cli_actor())
    console.print(f"Sign-ins of {cleared} are no longer slowed.")


def warn_if_no_accounts(client: Client) -> None:
    """Say how to create the first account when there is none yet."""
    from dashboard import auth

    if not auth.list_users(client):
        console.print("[yellow]No accounts yet: create one with "
                      "`odwatch users add NAME --role admin` to sign in.[/yellow]")


def serve(port: int, address: str, prepare: list[str]) -> None:
    """Run `prepare` (an `odwatch` command line that opens the engine first), then the dashboard.

    chDB lets one process at a time open a data directory, and the dashboard's process (Streamlit's)
    must open it. The checks that open it first run in a process of their own, whose exit lets go
    of the directory whatever it opened; closing the clients here would let go of it too, but this
    process would keep the engine's memory for as long as the dashboard runs.
    """
    from dashboard import jobs

    code, _ = run_to_the_end([sys.executable, "-m", "odwatch", *prepare])
    if code:
        raise typer.Exit(code)
    console.print(f"Dashboard on http://{address}:{port}/")
    code, stopped = run_to_the_end(
        [sys.executable, "-m", "streamlit", "run", str(APP_PATH),
         "--server.port", str(port), "--server.address", address, *STREAMLIT_OPTIONS],
        env={**os.environ, jobs.SERVE_ENV: "1"},
    )
    if stopped:
        console.print("Dashboard stopped.")
    if code:
        raise typer.Exit(code)


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
    app.add_typer(users_app, name="users")
