"""First render benchmark: every page of the admin role opened in headless Chromium, timed.

    .venv/bin/python bench/first_render.py [--scale large] [--data-dir DIR]

1. Uses the demo platform under bench/data/platform_<scale>/ (built once when absent, by
   bench/pages.py's `platform`), or `--data-dir`, a copy of one (to try the script without
   writing to a shared platform). Counts its events and saves a bench admin account with
   `odwatch users add`, each in its own process: the embedded engine allows one process per
   data directory, and `odwatch serve` needs it next.
2. Serves an empty Streamlit app (one title) with serve's Streamlit options and opens it in a
   fresh headless Chromium, timed like the pages: Streamlit's own load and the app's first run,
   on this machine, now (the floor under the sign-in page's "live" figure).
   Then starts `odwatch serve` on a free loopback port and opens its sign-in page, with Playwright
   driving Debian's /usr/bin/chromium headless. Its first render is its form drawn (serve's plain
   form, dashboard/signin_shell.py, is drawn before Streamlit has started in the browser); "live"
   is when Streamlit's own form has taken over and Streamlit is idle, as for a page. serve has no
   switch for its background jobs, so they are kept out of the measure: the spool and detector
   intervals are set to a day and every detector is switched off, and since serve always makes a
   first detector run 120 s after the app's first run, the script waits on the sign-in page
   until that run (a count and one insert into detector_runs) is over, then signs in.
3. For each page of the admin role, in menu order, twice: from the click on its menu link (for
   the overview, the default page, from the sign-in click) until Streamlit is idle, nothing is
   stale and the page's title is shown, with no error box. The first pass is the first render
   (the page's caches are cold); the second is printed as "again".
4. Stops the server (SIGINT, then kill after 60 s), and times the sign-in page once more (drawn,
   and live) for a browser that has opened the dashboard before: one browser profile opens the
   sign-in page of a fresh server, then, started again, that of a second fresh server on the
   same port.
5. Prints the figures (target: first render <= 2 s), the load average and CPU count.

Prints figures; exits 0 when pages are over target, 1 when a page shows an error box or does
not finish, or when the platform, the account or the server could not be set up.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))

from dashboard import navigation  # noqa: E402
from dashboard.cli import STREAMLIT_OPTIONS  # noqa: E402
from dashboard.signin_shell import SHELL_ID  # noqa: E402
from odwatch.i18n import catalog  # noqa: E402

TARGET_S = 2.0
ACCOUNT = "bench_first_render"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT_S = 300
PAGE_TIMEOUT_MS = 300_000
VIEWPORT = {"width": 1400, "height": 1800}
# Idle: the run is over, nothing is stale, and no element still waits for its browser code (a
# skeleton stands in for it until the code is fetched and run). Idle must still hold this long
# after a run (a page may rerun itself). It is also a reader's
# pause: Streamlit's gc.collect() after each run is over before the next click.
PAUSE_MS = 1000
DETECTOR_FIRST_RUN_S = 120 + 15   # dashboard/jobs.py: the first run, whatever the interval; + margin
IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
        && app.getAttribute('data-test-connection-state') === 'CONNECTED'
        && !document.querySelector('[data-stale="true"]')
        && !document.querySelector('[data-testid="stSkeleton"]')
        && !document.getElementById('__SHELL_ID__');
}""".replace("__SHELL_ID__", SHELL_ID)
# The sign-in form drawn, whoever draws it: its title, and its password field laid out.
FORM_DRAWN = """title => [...document.querySelectorAll('h1')].some(h => h.textContent.trim() === title)
    && [...document.querySelectorAll('input[type=password]')].some(
        input => input.getBoundingClientRect().height > 0)"""
ERROR_BOX = '[data-testid="stException"], [data-testid="stAlertContentError"]'
EVENTS = "SELECT count() FROM access_log"
EMPTY_APP = 'import streamlit as st\n\nst.title("空白")\n'
EMPTY_TITLE = "空白"
ZH = catalog("zh")
LIVE = "sign_in live"


@dataclass
class Visit:
    seconds: float | None = None
    problem: str = ""


# ---- setting up: the platform, the account, the server ------------------------------------------

def prepare(scale: str, data_dir: Path) -> None:
    """Child process: build the platform when it is a missing bench platform, print its event count."""
    from odwatch.errors import UserError
    from odwatch.settings import Settings
    from warehouse import connect
    from warehouse.client import EngineBusy

    try:
        if data_dir == BENCH_DATA / f"platform_{scale}":
            sys.path.insert(0, str(ROOT / "bench"))
            from pages import platform

            client, _ = platform(scale, seed=7)
        else:
            client = connect(Settings(data_dir=data_dir, clickhouse_url="", clickhouse_cluster="",
                                      clickhouse_database="odwatch"))
        events = client.query(EVENTS).result_rows[0][0]
    except (UserError, EngineBusy) as exc:
        sys.exit(f"{data_dir}: {exc}")
    if not events:
        sys.exit(f"{data_dir} has no access events: point --data-dir at a built platform "
                 "(a copy of bench/data/platform_small, for instance).")
    print(f"events={events}")


def serve_env(data_dir: Path) -> dict[str, str]:
    from detectors.registry import detector_ids

    switched_off = {detector_id: {"enabled": False} for detector_id in detector_ids()}
    return {**os.environ, "ODWATCH_DATA_DIR": str(data_dir), "ODWATCH_CLICKHOUSE_URL": "",
            "ODWATCH_CLICKHOUSE_CLUSTER": "", "ODWATCH_CLICKHOUSE_DATABASE": "odwatch",
            "ODWATCH_SPOOL_EVERY_S": "86400", "ODWATCH_DETECT_EVERY_S": "86400",
            "ODWATCH_DETECTORS": json.dumps(switched_off)}


def count_events(scale: str, data_dir: Path) -> int:
    child = [sys.executable, __file__, "--prepare", "--scale", scale, "--data-dir", str(data_dir)]
    done = subprocess.run(child, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    lines = done.stdout.splitlines()
    for line in lines[:-1]:      # what building the platform printed
        print(line)
    if done.returncode or not lines or not lines[-1].startswith("events="):
        raise SystemExit("could not open the platform (see above); nothing was measured.")
    return int(lines[-1].removeprefix("events="))


def odwatch_command() -> list[str]:
    command = Path(sys.executable).parent / "odwatch"
    if not command.exists():
        raise SystemExit(f"no odwatch command beside {sys.executable}: run this with .venv/bin/python.")
    return [str(command)]


def add_account(env: dict[str, str]) -> str:
    """Save (or reset) the bench admin account with a fresh password; return the password."""
    password = secrets.token_urlsafe(16)
    done = subprocess.run([*odwatch_command(), "users", "add", ACCOUNT, "--role", "admin"], cwd=ROOT,
                          env=env, input=password + "\n", capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"`odwatch users add` failed:\n{done.stdout}{done.stderr}")
    return password


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A Streamlit server as a subprocess (`odwatch serve` unless told otherwise); its output is
    kept to explain a failure."""

    def __init__(self, env: dict[str, str], command: Callable[[int], list[str]] | None = None,
                 port: int | None = None):
        port = port or free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        command = command or (lambda port: [*odwatch_command(), "serve", "--port", str(port)])
        self.process = subprocess.Popen(
            command(port), cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def failure(self, what: str) -> SystemExit:
        return SystemExit(f"odwatch serve {what}; its last output:\n" + "\n".join(self.lines[-40:]))

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self.failure("exited")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)      # polling a starting server; not part of any figure
        raise self.failure(f"was not healthy after {STARTUP_TIMEOUT_S} s")

    def stop(self) -> None:
        """SIGINT lets Streamlit and the engine shut down cleanly; kill only if that hangs."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


# ---- the browser ----------------------------------------------------------------------------------

def title_of(spec: navigation.PageSpec) -> str:
    key = {"admin": "nav.admin", "public_notice": "notice.title"}.get(spec.key, f"pages.{spec.key}.title")
    return ZH[key]


def finished(page) -> float:
    """When Streamlit last went idle, once it stayed idle for PAUSE_MS (a page may rerun itself)."""
    while True:
        page.wait_for_function(IDLE, polling="raf")
        done = time.perf_counter()
        page.wait_for_timeout(PAUSE_MS)
        if page.evaluate(IDLE):
            return done


def timed(page, action, title: str) -> Visit:
    """Seconds from `action` (a click) to the page drawn with its title, idle, with no error box."""
    started = time.perf_counter()
    action()
    return until_idle(page, title, started)


def until_idle(page, title: str, started: float) -> Visit:
    """Seconds from `started` to the page drawn with its title, idle, with no error box."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    heading, errors = page.get_by_role("heading", name=title, level=1), page.locator(ERROR_BOX)
    try:
        heading.or_(errors).first.wait_for()     # an error box instead of the page ends the wait too
        done = finished(page)
    except PlaywrightTimeout:
        return Visit(problem=f"not drawn within {PAGE_TIMEOUT_MS // 1000} s")
    if errors.count():
        return Visit(done - started, "error box: " + " ".join(errors.first.inner_text().split())[:160])
    if not heading.count():
        return Visit(done - started, f"no title {title!r}")
    return Visit(done - started)


def nav_link(page, spec: navigation.PageSpec):
    title = page.get_by_text(ZH[spec.title_key], exact=True)
    return page.locator('[data-testid="stSidebarNavLink"]', has=title)


def empty_app() -> Visit:
    """An empty Streamlit app on a fresh server, opened in a fresh Chromium like the sign-in page."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "empty_app.py"
        app.write_text(EMPTY_APP, encoding="utf-8")
        server = Server(dict(os.environ), lambda port: [
            sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
            "--server.address", "127.0.0.1", *STREAMLIT_OPTIONS])
        try:
            server.wait_healthy()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_context(viewport=VIEWPORT).new_page()
                page.set_default_timeout(PAGE_TIMEOUT_MS)
                visit = timed(page, lambda: page.goto(server.url), EMPTY_TITLE)
                browser.close()
        finally:
            server.stop()
    return visit


def sign_in_visits(page, url: str) -> tuple[Visit, Visit]:
    """The sign-in page opened: seconds until its form is drawn, and until it is live (Streamlit's
    own form has taken over from the plain one, and Streamlit is idle)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    try:
        page.wait_for_function(FORM_DRAWN, arg=ZH["signin.title"], polling="raf")
    except PlaywrightTimeout:
        return Visit(problem=f"not drawn within {PAGE_TIMEOUT_MS // 1000} s"), Visit()
    drawn = Visit(time.perf_counter() - started)
    return drawn, until_idle(page, ZH["signin.title"], started)


def returning_sign_in(env: dict[str, str]) -> tuple[Visit, Visit]:
    """The sign-in page of a fresh server in a browser that has opened the dashboard before.

    A browser keeps Streamlit's code (served as immutable for a year) in its cache, keyed by the
    address: so the browser profile first opens the sign-in page of one server, and is then
    started again against a second server on the same port, whose sign-in page is timed (drawn,
    live).
    """
    from playwright.sync_api import sync_playwright

    port = free_port()
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        visits = []
        for _ in range(2):
            server = Server(env, port=port)
            try:
                server.wait_healthy()
                context = playwright.chromium.launch_persistent_context(
                    profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                    viewport=VIEWPORT)
                context.set_default_timeout(PAGE_TIMEOUT_MS)
                page, url = context.new_page(), server.url
                visits.append(sign_in_visits(page, url))
                context.close()
            finally:
                server.stop()
    return visits[-1]


def measure(url: str, password: str, specs: list[navigation.PageSpec]) -> dict[str, list[Visit]]:
    """Sign in, then open every page twice in menu order; the visits per page, the sign-in page first."""
    from playwright.sync_api import sync_playwright

    visits: dict[str, list[Visit]] = {"sign_in": [], LIVE: [], **{spec.key: [] for spec in specs}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        page = context.new_page()
        # The server's first run of the app script: imports, engine client, jobs, the sign-in form.
        opened = time.monotonic()
        drawn, live = sign_in_visits(page, url)
        visits["sign_in"].append(drawn)
        visits[LIVE].append(live)
        wait = max(0.0, DETECTOR_FIRST_RUN_S - (time.monotonic() - opened))
        print(f"waiting {wait:.0f} s on the sign-in page for serve's first detector run...", flush=True)
        page.wait_for_timeout(wait * 1000)
        page.get_by_label(ZH["signin.username"]).fill(ACCOUNT)
        page.get_by_label(ZH["signin.password"]).fill(password)
        submit = page.get_by_role("button", name=ZH["signin.submit"])
        visits[specs[0].key].append(timed(page, submit.click, title_of(specs[0])))
        if visits[specs[0].key][0].problem:
            raise SystemExit(f"signing in as {ACCOUNT} failed: {visits[specs[0].key][0].problem}")
        for spec in [*specs[1:], *specs]:
            visits[spec.key].append(timed(page, nav_link(page, spec).click, title_of(spec)))
        browser.close()
    return visits


def check_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise SystemExit("playwright is missing in this Python: install the test extras, "
                         "`.venv/bin/pip install -e '.[test]'` (no browser download is needed).") from None
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`).")


# ---- the report -----------------------------------------------------------------------------------

def seconds(visit: Visit | None) -> str:
    return "—" if visit is None or visit.seconds is None else f"{visit.seconds:.2f}"


def verdict(visit: Visit) -> str:
    return "—" if visit.seconds is None else "ok" if visit.seconds <= TARGET_S else "OVER"


@dataclass
class Row:
    visits: list[Visit]
    judged: bool = True          # a first render, held to the target
    note: str = ""


def report(visits: dict[str, list[Visit]], floor: Visit, returning: tuple[Visit, Visit]) -> bool:
    """Print one row per page; True when every page was drawn without an error box."""
    print(f"{'page':<20}{'first s':>9}{'again s':>9}  target {TARGET_S:g} s")
    rows = {"(empty app)": Row([floor], False, "an empty Streamlit app, fresh server and browser"),
            "sign_in, back": Row([returning[0]], note="fresh server, a browser that has opened it before"),
            f"{LIVE}, back": Row([returning[1]], False)}
    rows |= {key: Row(key_visits, key != LIVE) for key, key_visits in visits.items()}
    problems = []
    for key, row in rows.items():
        first, *again = row.visits
        judged = verdict(first) if row.judged else "—"
        print(f"{key:<20}{seconds(first):>9}{seconds(again[0] if again else None):>9}  {judged}"
              + (f": {row.note}" if row.note else ""))
        problems += [f"{key}: {v.problem}" for v in row.visits if v.problem]
    print("sign_in is the first request to a fresh server: its form drawn, then live (Streamlit's "
          "own form ready; the empty app is its floor); overview's first render counts from the "
          "sign-in click.")
    for problem in problems:
        print("PROBLEM " + problem)
    return not problems


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg()) + f" (1, 5, 15 min) on {os.cpu_count()} CPUs"


def bench(scale: str, data_dir: Path) -> int:
    check_browser()
    events = count_events(scale, data_dir)
    env = serve_env(data_dir)
    password = add_account(env)
    print(f"platform {data_dir}: {events:,} events")
    print(f"load average before: {load()}")
    floor = empty_app()
    server = Server(env)
    try:
        server.wait_healthy()
        visits = measure(server.url, password, navigation.pages_for("admin"))
    finally:
        server.stop()
    returning = returning_sign_in(env)
    print(f"load average after:  {load()}")
    return 0 if report(visits, floor, returning) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=("small", "medium", "large"))
    parser.add_argument("--data-dir", type=Path,
                        help="a platform directory other than bench/data/platform_<scale> (a copy, say)")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)   # the child process
    args = parser.parse_args()
    data_dir = (args.data_dir or BENCH_DATA / f"platform_{args.scale}").resolve()
    if args.prepare:
        prepare(args.scale, data_dir)
        return
    sys.exit(bench(args.scale, data_dir))


if __name__ == "__main__":
    main()
